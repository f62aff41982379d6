"""Billing records: instance state history, prices, usage and statements."""

// Small enhancements; every page works without them.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // Selects marked data-autosubmit send their form on change (the tenant switch).
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.addEventListener("change", () => form.submit());
  }

  // Copy buttons: data-copy names the element whose text is copied.
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
    });
  }

  // A filter box over a long select keeps only the options whose label matches.
  for (const box of document.querySelectorAll("input[data-filter-for]")) {
    const select = document.getElementById(box.dataset.filterFor);
    box.hidden = false;
    box.addEventListener("input", () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      let first = null;
      for (const option of select.options) {
        const label = option.textContent.toLowerCase();
        option.hidden = !words.every((word) => label.includes(word));
        if (!option.hidden && first === null) first = option;
      }
      if (first && select.selectedOptions[0]?.hidden) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  // "Use my browser's time zone" fills the select with the zone the browser reports.
  const zoneButton = document.getElementById("browser-timezone");
  if (zoneButton) {
    zoneButton.hidden = false;
    zoneButton.addEventListener("click", () => {
      document.getElementById("id_timezone").value =
        Intl.DateTimeFormat().resolvedOptions().timeZone;
    });
  }
});

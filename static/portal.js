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

  // A filter box over a long select keeps only the options whose label matches: as a phrase
  // ("8 vcpu 8 gb" finds "8 vCPU · 8 GB RAM"), else every typed word anywhere in the label.
  const plain = (text) => text.toLowerCase().replace(/[^a-z0-9.]+/g, " ").trim();
  for (const box of document.querySelectorAll("input[data-filter-for]")) {
    const select = document.getElementById(box.dataset.filterFor);
    box.hidden = false;
    box.addEventListener("input", () => {
      const query = plain(box.value);
      const words = query.split(" ").filter(Boolean);
      const labels = [...select.options].map((option) => plain(option.textContent));
      const phrase = labels.some((label) => label.includes(query));
      let first = null;
      [...select.options].forEach((option, index) => {
        const label = labels[index];
        option.hidden = phrase
          ? !label.includes(query)
          : !words.every((word) => label.includes(word));
        if (!option.hidden && first === null) first = option;
      });
      const chosen = select.selectedOptions[0];
      if (first && (!chosen || chosen.hidden)) {
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

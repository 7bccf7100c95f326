// Dockyard's little script: copy buttons, confirmations, relative times, sort menus, live
// filtering of the rows of a page.
// Everything works without it; it only adds comfort. No inline handlers (the CSP forbids them).
"use strict";

function relative(date) {
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (seconds < 10) return "just now";
  const steps = [[60, 1, "second"], [3600, 60, "minute"], [86400, 3600, "hour"],
    [30 * 86400, 86400, "day"], [365 * 86400, 30 * 86400, "month"]];
  for (const [limit, size, unit] of steps) {
    if (seconds < limit) {
      const count = Math.floor(seconds / size);
      return count + " " + unit + (count === 1 ? "" : "s") + " ago";
    }
  }
  const years = Math.floor(seconds / (365 * 86400));
  return years + " year" + (years === 1 ? "" : "s") + " ago";
}

function refreshTimes() {
  for (const time of document.querySelectorAll("time[datetime][title]")) {
    if (!/ago$|just now/.test(time.textContent)) continue;
    const date = new Date(time.getAttribute("datetime"));
    if (!isNaN(date)) time.textContent = relative(date);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy-target]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const input of document.querySelectorAll("input[data-filter-rows]")) {
    input.closest("[hidden]")?.removeAttribute("hidden");
    input.addEventListener("input", () => {
      const wanted = input.value.trim().toLowerCase();
      for (const row of document.querySelectorAll(input.dataset.filterRows)) {
        row.hidden = wanted !== "" && !row.textContent.toLowerCase().includes(wanted);
      }
    });
  }
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  refreshTimes();
  setInterval(refreshTimes, 60000);
});

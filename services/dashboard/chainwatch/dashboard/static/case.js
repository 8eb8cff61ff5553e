/* The verdict form: offer only the reasons that go with the chosen verdict.
 * Without this script every reason is listed and the server refuses a wrong pair. */
"use strict";

(function () {
  const form = document.querySelector(".verdict-form");
  if (!form) return;
  const reason = form.querySelector('select[name="reason_code"]');

  function sync() {
    const chosen = form.querySelector('input[name="verdict"]:checked');
    for (const group of reason.querySelectorAll("optgroup")) {
      const fits = !chosen || group.dataset.verdict === chosen.value;
      group.hidden = !fits;
      for (const option of group.querySelectorAll("option")) option.disabled = !fits;
    }
    const selected = reason.selectedOptions[0];
    if (selected && selected.disabled) reason.value = "";
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "verdict") sync();
  });
  sync();
})();

/* The case page.
 *
 * The verdict form offers only the reasons that go with the chosen verdict (without this
 * script every reason is listed and the server refuses a wrong pair). While the
 * explanation is pending, the page listens for it and, when it is stored, draws the
 * explanation section as the server renders it, without a reload.
 */
"use strict";

(function () {
  const form = document.querySelector(".verdict-form");
  if (form) {
    const reason = form.querySelector('select[name="reason_code"]');
    const sync = () => {
      const chosen = form.querySelector('input[name="verdict"]:checked');
      for (const group of reason.querySelectorAll("optgroup")) {
        const fits = !chosen || group.dataset.verdict === chosen.value;
        group.hidden = !fits;
        for (const option of group.querySelectorAll("option")) option.disabled = !fits;
      }
      const selected = reason.selectedOptions[0];
      if (selected && selected.disabled) reason.value = "";
    };
    form.addEventListener("change", (event) => {
      if (event.target.name === "verdict") sync();
    });
    sync();
  }

  const section = document.getElementById("explanation");
  if (!section || section.dataset.pending !== "true") return;

  async function redraw() {
    const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("explanation");
    if (fresh && fresh.dataset.pending === "false") {
      section.replaceWith(fresh);
      fresh.classList.add("is-updated");
      socket.close();
    }
  }

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(scheme + "//" + location.host + section.dataset.wsPath);
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (frame.type === "explained" && frame.txid === section.dataset.txid) {
      redraw().catch((err) => console.warn("could not draw the explanation:", err));
    }
  });
})();

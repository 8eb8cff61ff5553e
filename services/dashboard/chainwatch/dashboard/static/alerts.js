/* The alert queue, live.
 *
 * The page is complete without this script. With it, the queue listens on the websocket:
 * a new flagged decision that matches the filters is fetched as a server-rendered row and
 * put on top (on the first page of the newest-first view; elsewhere a notice offers to
 * show it), and a case changed by anyone is redrawn in place. Rows come from the server
 * as HTML it has escaped; nothing from a frame is written into the page as markup.
 */
"use strict";

(function () {
  const TXID = /^[0-9a-f]{64}$/;
  const RECONNECT_MAX_MS = 15000;
  const queue = document.getElementById("queue");
  const rows = document.getElementById("queue-rows");
  const news = document.getElementById("queue-news");
  const count = document.getElementById("queue-count");
  const status = document.getElementById("live-status");
  const f = queue.dataset;
  const live = f.live === "true";
  const pageSize = Number(f.pageSize) || 50;
  let total = parseInt(count.textContent.replace(/[^0-9]/g, ""), 10) || 0;
  let reconnects = 0;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.querySelector(".status-text").textContent = text;
  }

  function matches(d) {
    if (!d.flagged) return false;
    if (f.band && d.band !== f.band) return false;
    if (f.tier && d.deciding_tier !== f.tier) return false;
    const hits = d.rule_hits || [];
    if (f.rule && !hits.some((h) => h.rule === f.rule)) return false;
    if (f.category && !hits.some((h) => h.category === f.category)) return false;
    if (!["unresolved", "all", "open"].includes(f.status)) return false;
    return !f.assignee;
  }

  async function fetchRow(txid) {
    const response = await fetch(f.rowPath + txid, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    return template.content.querySelector("tr.alert-row");
  }

  function setCount() {
    count.textContent = total.toLocaleString("en-US") + (total === 1 ? " alert" : " alerts");
  }

  async function arrive(d) {
    if (!TXID.test(d.txid) || !matches(d) || rows.querySelector(`tr[data-txid="${d.txid}"]`)) return;
    total += 1;
    setCount();
    if (!live) {
      news.hidden = false;
      return;
    }
    const row = await fetchRow(d.txid);
    if (!row) return;
    row.classList.add("is-new");
    rows.prepend(row);
    const empty = document.getElementById("queue-empty");
    if (empty) empty.remove();
    while (rows.children.length > pageSize) rows.lastElementChild.remove();
  }

  async function caseChanged(frame) {
    if (!TXID.test(frame.txid)) return;
    const old = rows.querySelector(`tr[data-txid="${frame.txid}"]`);
    if (!old) return;
    const row = await fetchRow(frame.txid);
    if (row) {
      row.classList.add("is-updated");
      old.replaceWith(row);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + f.wsPath);
    socket.addEventListener("open", () => {
      setStatus("live", "Live");
      if (reconnects > 0) news.hidden = false; // alerts may have arrived while away
      reconnects = 0;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      const work = frame.type === "decision" ? arrive(frame.decision)
        : frame.type === "case" ? caseChanged(frame) : null;
      if (work) work.catch((err) => console.warn("queue update failed:", err));
    });
    socket.addEventListener("close", () => {
      reconnects += 1;
      setStatus("offline", "Reconnecting…");
      setTimeout(connect, Math.min(RECONNECT_MAX_MS, 500 * 2 ** reconnects));
    });
  }

  connect();
})();

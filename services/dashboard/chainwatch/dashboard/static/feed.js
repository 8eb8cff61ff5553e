/* The live feed page.
 *
 * Rows come first from the recent-decisions API (so a reload is not empty), then one per
 * decision pushed over the websocket. Rows stay sorted by decision time, newest on top,
 * at most data-max-rows of them, and a txid appears once. Live decisions are drawn once
 * per animation frame, so a burst costs one layout; while the tab is hidden only the
 * newest data-max-rows wait. Text goes into the page only through textContent.
 */
"use strict";

(function () {
  const BANDS = new Set(["Low", "Medium", "High", "Severe"]);
  const TXID = /^[0-9a-f]{64}$/;
  const SATS_PER_BTC = 100000000;
  const RECONNECT_MAX_MS = 15000;

  const feed = document.getElementById("feed");
  const table = feed.querySelector("table.feed");
  const rows = document.getElementById("feed-rows");
  const empty = document.getElementById("feed-empty");
  const status = document.getElementById("feed-status");
  const counts = document.getElementById("feed-counts");
  const flaggedOnly = document.getElementById("flagged-only");

  const maxRows = Number(feed.dataset.maxRows) || 200;
  const explorerTxUrl = feed.dataset.explorerTxUrl;
  const shown = new Map(); // txid -> its row
  const arriving = []; // live decisions not drawn yet, oldest first
  let reconnects = 0;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.querySelector(".status-text").textContent = text;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function cell(tr, className, child) {
    const td = el("td", className);
    if (child !== undefined) td.append(child);
    tr.append(td);
    return td;
  }

  function formatTime(date) {
    const iso = date.toISOString();
    const today = new Date().toISOString().slice(0, 10);
    const clock = iso.slice(11, 19);
    return iso.slice(0, 10) === today ? clock : iso.slice(5, 10) + " " + clock;
  }

  function formatBtc(sat) {
    const whole = Math.floor(sat / SATS_PER_BTC);
    const fraction = String(sat % SATS_PER_BTC).padStart(8, "0");
    return whole.toLocaleString("en-US") + "." + fraction;
  }

  function formatFeeRate(rate) {
    if (rate === null || rate === undefined) return "—";
    return rate.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }

  function txidLink(txid) {
    const link = el("a", "txid", txid.slice(0, 12) + "…" + txid.slice(-6));
    link.href = explorerTxUrl + txid;
    link.target = "_blank";
    link.rel = "noopener noreferrer external";
    link.title = txid + " (opens mempool.space)";
    return link;
  }

  function scoreCell(tr, score) {
    const wrap = el("span", "score");
    const bar = el("span", "score-bar");
    bar.style.setProperty("--score", String(Math.min(1, Math.max(0, score))));
    wrap.append(bar, el("span", null, score.toFixed(3)));
    cell(tr, "num", wrap);
  }

  function ruleCell(tr, hit) {
    if (!hit) {
      cell(tr, "muted", "—");
      return;
    }
    const td = cell(tr, null);
    td.title = hit.detail || hit.rule;
    td.append(el("span", "rule", hit.rule), " ", el("span", "category", hit.category));
  }

  function buildRow(d, isLive) {
    const decidedAt = new Date(d.decided_at);
    const tr = el("tr", "decision");
    tr.classList.toggle("is-flagged", d.flagged);
    tr.classList.toggle("is-new", isLive);
    tr.dataset.txid = d.txid;
    tr.dataset.band = d.band;
    tr.dataset.ts = String(decidedAt.getTime());

    const time = el("time", null, formatTime(decidedAt));
    time.dateTime = decidedAt.toISOString();
    time.title = decidedAt.toISOString();
    cell(tr, null, time);
    cell(tr, null, txidLink(d.txid));
    cell(tr, null, el("span", "badge band-" + d.band.toLowerCase(), d.band));
    scoreCell(tr, d.risk_score);
    cell(tr, null, d.deciding_tier);
    ruleCell(tr, d.top_rule);
    cell(tr, "num mono", formatBtc(d.value_out_sat));
    cell(tr, "num mono", formatFeeRate(d.fee_rate_sat_vb));
    return tr;
  }

  function insert(d, isLive) {
    if (!TXID.test(d.txid) || !BANDS.has(d.band) || shown.has(d.txid)) return;
    const tr = buildRow(d, isLive);
    const ts = Number(tr.dataset.ts);

    let before = null;
    for (const other of rows.children) {
      if (Number(other.dataset.ts) <= ts) {
        before = other;
        break;
      }
    }
    rows.insertBefore(tr, before);
    shown.set(d.txid, tr);

    while (shown.size > maxRows) {
      const oldest = rows.lastElementChild;
      shown.delete(oldest.dataset.txid);
      oldest.remove();
    }
  }

  function arrive(decision) {
    arriving.push(decision);
    if (arriving.length > maxRows) arriving.splice(0, arriving.length - maxRows);
    if (arriving.length === 1) requestAnimationFrame(drawArrivals);
  }

  function drawArrivals() {
    for (const decision of arriving.splice(0)) insert(decision, true);
    updateCounts();
  }

  function updateCounts() {
    const flagged = rows.querySelectorAll("tr.is-flagged").length;
    const total = shown.size;
    counts.textContent =
      total.toLocaleString("en-US") + (total === 1 ? " decision" : " decisions") +
      " · " + flagged.toLocaleString("en-US") + " flagged";
    empty.hidden = (flaggedOnly.checked ? flagged : total) > 0;
  }

  async function loadRecent() {
    const url = feed.dataset.recentPath + "?limit=" + Math.min(maxRows, 500);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      for (const decision of body.decisions) insert(decision, false);
      updateCounts();
      feed.dataset.loaded = "true";
    } catch (err) {
      console.warn("could not load recent decisions:", err);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + feed.dataset.wsPath);

    socket.addEventListener("open", () => {
      setStatus("live", "Live");
      // After an outage, fill the gap from the audit trail.
      if (reconnects > 0) loadRecent();
      reconnects = 0;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame.type === "decision") arrive(frame.decision);
    });
    socket.addEventListener("close", () => {
      reconnects += 1;
      const delayMs = Math.min(RECONNECT_MAX_MS, 500 * 2 ** reconnects);
      setStatus("offline", "Reconnecting…");
      setTimeout(connect, delayMs);
    });
  }

  flaggedOnly.addEventListener("change", () => {
    table.classList.toggle("flagged-only", flaggedOnly.checked);
    updateCounts();
  });

  connect();
  loadRecent();
})();

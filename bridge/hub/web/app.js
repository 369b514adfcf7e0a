// The hub's dashboard: fetches agents and threads, then follows the event stream (SSE) and
// refreshes what an event touches. No build step, no dependencies; the cookie carries the token.
"use strict";

const $ = (selector) => document.querySelector(selector);

function text(tag, value, cls) {
  const node = document.createElement(tag);
  node.textContent = value == null ? "" : String(value);
  if (cls) node.className = cls;
  return node;
}

function ago(epoch) {
  if (!epoch) return "—";
  const s = Math.max(0, Math.round(Date.now() / 1000 - epoch));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function count(n) {
  return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? Math.round(n / 1e3) + "k" : String(n);
}

// Tokens from the agent's transcript: in / out (cached), "—" where its CLI keeps none.
function tokens(t) {
  if (!t) return "—";
  return count(t.input) + " in / " + count(t.output) + " out" + (t.cached ? " (" + count(t.cached) + " cached)" : "");
}

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401 || response.status === 403) { location.reload(); return null; }
  return response.json();
}

async function loadAgents() {
  const rows = await getJSON("/api/agents");
  if (!rows) return;
  const body = $("#agents tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = row.agent;
    tr.append(text("td", row.agent), text("td", row.host), text("td", row.state, "state state-" + row.state),
              text("td", row.model || "—", "model"), text("td", ago(row.last_activity)),
              text("td", row.unread, "unread"), text("td", tokens(row.tokens), "tokens"),
              text("td", row.waiting || ""));
    return tr;
  }));
}

async function loadThreads() {
  const threads = await getJSON("/api/threads");
  if (!threads) return;
  const box = $("#threads");
  if (!threads.length) { box.replaceChildren(text("p", "none", "empty")); return; }
  box.replaceChildren(...threads.map((thread) => {
    const div = document.createElement("div");
    div.className = "thread";
    div.dataset.thread = thread.id;
    div.append(text("h3", "#" + thread.id + " " + thread.subject + " — " + thread.participants.join(", ")));
    for (const m of thread.messages) {
      const item = document.createElement("div");
      item.className = "message";
      item.dataset.message = m.id;
      const status = m.read_at ? "read" : m.woken_at ? "woken" : "queued";
      item.append(text("div", m.sender + " → " + m.recipient + " · " + ago(m.created_at) + " · " + status, "who"),
                  text("pre", m.body.length > 2000 ? m.body.slice(0, 2000) + " …" : m.body));
      div.append(item);
    }
    return div;
  }));
}

function addEvent(event) {
  const when = new Date(event.at * 1000).toLocaleTimeString();
  const detail = Object.entries(event.data || {}).filter(([, v]) => v != null).map(([k, v]) => k + "=" + v).join(" ");
  const li = text("li", when + "  " + event.kind + "  " + (event.agent || "") + (event.actor ? " (by " + event.actor + ")" : "") + "  " + detail);
  li.dataset.kind = event.kind;
  const list = $("#events");
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
}

let pending = null;
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(async () => { pending = null; await Promise.all([loadAgents(), loadThreads()]); }, 100);
}

async function loadReport() {
  const latest = await getJSON("/api/report?latest=1");
  if (!latest || !latest.markdown) return;
  const box = $("#report");
  box.textContent = latest.markdown;
  box.className = "report";
}

async function start() {
  await Promise.all([loadAgents(), loadThreads(), loadReport()]);
  const recent = await getJSON("/api/events?tail=50");
  let after = 0;
  if (recent) { for (const event of recent) addEvent(event); if (recent.length) after = recent[recent.length - 1].id; }
  const stream = new EventSource("/api/stream?after=" + after);
  stream.onopen = () => { $("#live").textContent = "live"; $("#live").className = "live on"; };
  stream.onerror = () => { $("#live").textContent = "reconnecting…"; $("#live").className = "live off"; };
  stream.addEventListener("hub", (message) => {
    const event = JSON.parse(message.data);
    addEvent(event);
    refreshSoon();
    if (event.kind === "schedule" && event.data.outcome === "report") loadReport();
  });
  setInterval(loadAgents, 10000); // "last activity" ages even when nothing happens
}

start();

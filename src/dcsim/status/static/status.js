// dcsim's status page: one EventSource, the DOM built with textContent only (names and
// reasons come from the network and are never parsed as HTML).
"use strict";

(() => {
  const rows = new Map(); // session id -> {session, row}
  let offset = 0; // server clock minus this browser's clock, in seconds
  let limits = { recent_dns: 50, recent_failures: 50 };

  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#sessions tbody");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const serverNow = () => Date.now() / 1000 + offset;

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    const rest = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${m}:${rest}` : `${m}:${rest}`;
  }

  function size(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }

  function clockTime(t) {
    return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
  }

  function stateCell(s) {
    const td = el("td", "state");
    td.append(el("span", `badge state-${s.state}`, s.state_label));
    if (s.detail) td.append(" ", el("span", "detail", s.detail));
    return td;
  }

  function dnsCell(s) {
    const td = el("td", "dns");
    if (s.dns.length === 0) return td;
    const last = s.dns[s.dns.length - 1];
    td.textContent = `${last.name} ${last.qtype} → ${answerText(last)}`;
    if (s.dns.length > 1) td.append(el("span", "more", ` (+${s.dns.length - 1})`));
    td.title = s.dns.map((q) => `${q.name} ${q.qtype} → ${answerText(q)}`).join("\n");
    return td;
  }

  function licenceCell(s) {
    const td = el("td", "licence");
    if (s.licence) {
      td.append(
        el("span", s.licence.accepted ? "ok" : "bad", s.licence.accepted ? "accepted" : "refused"),
      );
      if (s.licence.detail) td.title = s.licence.detail;
    }
    return td;
  }

  function loginCell(s) {
    const td = el("td", "login");
    if (s.login) {
      const parts = [];
      if (s.login.guild_card !== null) parts.push(`GC ${s.login.guild_card}`);
      if (s.login.name) parts.push(s.login.name);
      td.textContent = parts.join(" ") || "logged in";
    }
    return td;
  }

  function captureCell(s) {
    const td = el("td", "capture");
    if (s.pcap) {
      const a = el("a", null, "pcap");
      a.href = `pcap/${s.id}`;
      a.download = `dcsim-session-${s.id}.pcap`;
      td.append(a);
    }
    return td;
  }

  function buildRow(s) {
    const tr = el("tr");
    tr.id = `session-${s.id}`;
    tr.dataset.state = s.state;
    tr.append(
      el("td", "id", s.id),
      el("td", "kind", s.kind_label),
      el("td", "peer", s.peer),
      stateCell(s),
      el("td", "address", s.address || ""),
      dnsCell(s),
      licenceCell(s),
      loginCell(s),
      el("td", "num received", size(s.received)),
      el("td", "num sent", size(s.sent)),
      el("td", "num elapsed", duration(serverNow() - s.started)),
      captureCell(s),
    );
    return tr;
  }

  function showEmpty(container, empty, text, colspan) {
    const placeholder = container.querySelector(".empty");
    if (empty && !placeholder) {
      if (colspan) {
        const tr = el("tr", "empty");
        const td = el("td", null, text);
        td.colSpan = colspan;
        tr.append(td);
        container.append(tr);
      } else {
        container.append(el("li", "empty", text));
      }
    } else if (!empty && placeholder) {
      placeholder.remove();
    }
  }

  function session(s) {
    const known = rows.get(s.id);
    if (s.ended !== null) {
      if (known) known.row.remove();
      rows.delete(s.id);
    } else {
      const row = buildRow(s);
      if (known) {
        known.row.replaceWith(row);
      } else {
        const after = [...rows.keys()].filter((id) => id > s.id).sort((a, b) => a - b)[0];
        tbody.insertBefore(row, after === undefined ? null : rows.get(after).row);
      }
      rows.set(s.id, { session: s, row });
    }
    showEmpty(tbody, rows.size === 0, "No live sessions.", 12);
  }

  function answerText(q) {
    if (q.rcode !== "NOERROR") return q.rcode;
    return q.answers.length ? q.answers.join(", ") : "no answer";
  }

  function dnsItem(q) {
    const li = el("li");
    li.append(el("time", null, clockTime(q.time)), " ", el("span", "client", q.client));
    if (q.session !== null) li.append(" ", el("span", "session", `#${q.session}`));
    li.append(
      " ",
      el("span", "name", `${q.name} ${q.qtype}`),
      " → ",
      el("span", q.rcode === "NOERROR" ? "answer" : "answer bad", answerText(q)),
    );
    return li;
  }

  function failureItem(f) {
    const li = el("li");
    li.append(el("time", null, clockTime(f.time)), " ");
    if (f.session !== null) li.append(el("span", "session", `#${f.session}`), " ");
    if (f.kind_label) li.append(el("span", "kind", f.kind_label), " ");
    if (f.peer) li.append(el("span", "peer", f.peer), " ");
    li.append(el("span", "cause", `${f.cause.code} · ${f.cause.text}`));
    const why = [f.reason, f.state_label ? `(during ${f.state_label})` : ""].filter(Boolean);
    if (why.length) li.append(" ", el("span", "reason", `— ${why.join(" ")}`));
    return li;
  }

  function prepend(list, item, limit, emptyText) {
    showEmpty(list, false, emptyText);
    list.prepend(item);
    while (list.children.length > limit) list.lastElementChild.remove();
  }

  function counts(c) {
    offset = c.now - Date.now() / 1000;
    $("count-live").textContent = c.live;
    $("count-total").textContent = c.total;
    $("count-failures").textContent = c.failures;
    $("count-dns").textContent = c.dns;
  }

  function snapshot(snap) {
    limits = snap.limits;
    counts(snap.counts);
    for (const { row } of rows.values()) row.remove();
    rows.clear();
    snap.live.forEach(session);
    showEmpty(tbody, rows.size === 0, "No live sessions.", 12);
    for (const [id, items, build, limit, emptyText] of [
      ["dns", snap.dns, dnsItem, limits.recent_dns, "None yet."],
      ["failures", snap.failures, failureItem, limits.recent_failures, "None yet."],
    ]) {
      const list = $(id);
      list.replaceChildren();
      items.forEach((item) => prepend(list, build(item), limit, emptyText));
      showEmpty(list, items.length === 0, emptyText);
    }
  }

  function tick() {
    const now = serverNow();
    for (const { session: s, row } of rows.values()) {
      row.querySelector(".elapsed").textContent = duration(now - s.started);
    }
  }

  function connection(className, text) {
    const p = $("connection");
    p.className = `connection ${className}`;
    p.textContent = text;
  }

  const source = new EventSource("api/events");
  const on = (name, handler) =>
    source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  on("snapshot", snapshot);
  on("session", session);
  on("dns", (q) => prepend($("dns"), dnsItem(q), limits.recent_dns, "None yet."));
  on("failure", (f) => prepend($("failures"), failureItem(f), limits.recent_failures, "None yet."));
  on("counts", counts);
  source.addEventListener("open", () => connection("live", "live"));
  source.addEventListener("error", () => connection("lost", "reconnecting…"));
  setInterval(tick, 1000);
})();

/* llmhooks view: the report's script. Vanilla JS, no network: everything is in the page.
 *
 * Data: #llmhooks-data holds the traces and the runs as columns (runs of a trace are a
 * depth-first range, so a subtree is [i, i + size)); #llmhooks-details holds each run's
 * side panel as a JSON string, parsed only when the run is opened or searched.
 * Lists draw only the rows in view (VirtualList), so 100,000 events stay responsive.
 * Recorded values are only ever set as text (textContent), never as markup.
 */
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("llmhooks-data").textContent);
  var R = D.runs;
  var KINDS = D.kinds;
  var ROW = 24;
  var detailTexts = null;
  var haystacks = [];

  function detailText(i) {
    if (detailTexts === null) {
      detailTexts = JSON.parse(document.getElementById("llmhooks-details").textContent);
    }
    return detailTexts[i];
  }

  function haystack(i) {
    var h = haystacks[i];
    if (h === undefined) {
      h = (R.name[i] + "\n" + KINDS[R.kind[i]] + "\n" + R.error[i] + "\n" + R.id[i] + "\n" + detailText(i)).toLowerCase();
      haystacks[i] = h;
    }
    return h;
  }

  // -- formatting ---------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "-";
    if (ms < 10) return ms.toFixed(1) + "ms";
    if (ms < 1000) return Math.round(ms) + "ms";
    if (ms < 60000) return (ms / 1000).toFixed(2) + "s";
    var m = Math.floor(ms / 60000);
    return m + "m" + String(Math.round((ms - m * 60000) / 1000)).padStart(2, "0") + "s";
  }

  function fmtCost(c) {
    return c === null || c === undefined ? "-" : "$" + c.toFixed(6);
  }

  function fmtInt(n) {
    return n === null || n === undefined ? "-" : n.toLocaleString("en-US");
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function fmtTime(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function plural(n, word) {
    return n === 1 ? word : /(ch|sh|s|x)$/.test(word) ? word + "es" : word + "s";
  }

  // -- a list that draws only the rows in view ----------------------------------------

  function VirtualList(host, render) {
    this.host = host;
    this.render = render;
    this.count = 0;
    this.pool = [];
    this.pending = false;
    this.spacer = el("div", "vl-spacer");
    host.appendChild(this.spacer);
    var self = this;
    host.addEventListener("scroll", function () { self.schedule(); }, { passive: true });
    if (window.ResizeObserver) new ResizeObserver(function () { self.schedule(); }).observe(host);
  }

  VirtualList.prototype.setCount = function (n) {
    this.count = n;
    this.spacer.style.height = n * ROW + "px";
    this.draw();
  };

  VirtualList.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    var self = this;
    requestAnimationFrame(function () { self.pending = false; self.draw(); });
  };

  VirtualList.prototype.draw = function () {
    var top = this.host.scrollTop;
    var height = this.host.clientHeight || 600;
    var first = Math.max(0, Math.floor(top / ROW) - 4);
    var last = Math.min(this.count, Math.ceil((top + height) / ROW) + 4);
    var need = Math.max(0, last - first);
    while (this.pool.length < need) {
      var r = el("div", "row");
      this.host.appendChild(r);
      this.pool.push(r);
    }
    for (var j = 0; j < this.pool.length; j++) {
      var row = this.pool[j];
      if (j < need) {
        var idx = first + j;
        row.style.transform = "translateY(" + idx * ROW + "px)";
        row.dataset.index = idx;
        row.hidden = false;
        this.render(idx, row);
      } else if (!row.hidden) {
        row.hidden = true;
        delete row.dataset.run;
        delete row.dataset.trace;
      }
    }
  };

  VirtualList.prototype.reveal = function (idx) {
    var top = idx * ROW;
    var h = this.host.clientHeight;
    if (top < this.host.scrollTop) this.host.scrollTop = top;
    else if (top + ROW > this.host.scrollTop + h) this.host.scrollTop = top + ROW - h;
    this.draw();
  };

  // -- trace panes ----------------------------------------------------------------------

  var panesEl = document.getElementById("panes");
  var panes = [];
  var active = null;

  function activate(pane) {
    if (active === pane) return;
    active = pane;
    panes.forEach(function (p) { p.node.classList.toggle("active", p === pane); });
    traceList.draw();
    if (pane.selected >= 0) showDetail(pane.selected, pane);
  }

  function TreePane(number) {
    var node = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
    node.dataset.pane = String(number);
    panesEl.appendChild(node);
    this.node = node;
    this.tree = node.querySelector(".tree");
    this.trace = -1;
    this.focus = -1;
    this.collapsed = new Set();
    this.keep = null;
    this.matches = 0;
    this.selected = -1;
    this.rows = [];
    this.view = [0, 1];
    this.searchInput = node.querySelector(".search");
    var self = this;
    this.list = new VirtualList(this.tree, function (idx, row) { self.renderRow(idx, row); });
    var timer = 0;
    this.searchInput.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.search(self.searchInput.value); }, 120);
    });
    this.searchInput.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { clearTimeout(timer); self.search(self.searchInput.value); }
    });
    node.querySelector(".expand").addEventListener("click", function () { self.collapsed.clear(); self.update(); });
    node.querySelector(".collapse").addEventListener("click", function () { self.collapseAll(); });
    node.addEventListener("mousedown", function () { activate(self); });
    node.addEventListener("focusin", function () { activate(self); });
    this.tree.addEventListener("click", function (e) {
      var row = e.target.closest(".row");
      if (!row) return;
      var i = self.rows[+row.dataset.index];
      if (e.target.closest(".tog")) self.toggle(i);
      else self.select(i);
    });
    this.tree.addEventListener("dblclick", function (e) {
      var row = e.target.closest(".row");
      if (row && !e.target.closest(".tog")) self.focusOn(self.rows[+row.dataset.index]);
    });
    this.tree.addEventListener("keydown", function (e) { self.key(e); });
    node.querySelector(".crumbs").addEventListener("click", function (e) {
      var a = e.target.closest("a");
      if (a) self.focusOn(+a.dataset.run);
    });
  }

  TreePane.prototype.show = function (t) {
    this.trace = t;
    this.focus = -1;
    this.collapsed.clear();
    this.keep = null;
    this.searchInput.value = "";
    this.tree.scrollTop = 0;
    this.selected = D.traces[t][1];
    this.update();
    traceList.draw();
    if (active === this) showDetail(this.selected, this);
  };

  TreePane.prototype.range = function () {
    if (this.focus >= 0) return [this.focus, this.focus + R.size[this.focus]];
    var tr = D.traces[this.trace];
    return [tr[1], tr[1] + tr[2]];
  };

  TreePane.prototype.flatten = function () {
    var ab = this.range(), a = ab[0], b = ab[1], out = [], i;
    if (this.keep) {
      for (i = a; i < b; i++) if (this.keep[i - a]) out.push(i);
    } else {
      i = a;
      while (i < b) {
        out.push(i);
        i += this.collapsed.has(i) ? R.size[i] : 1;
      }
    }
    this.rows = out;
    if (this.focus >= 0) this.view = [R.start[this.focus], R.start[this.focus] + Math.max(R.r_dur[this.focus], 0.001)];
    else this.view = [0, Math.max(D.traces[this.trace][4], 0.001)];
  };

  TreePane.prototype.update = function () {
    if (this.trace < 0) return;
    this.flatten();
    this.drawHead();
    this.list.setCount(this.rows.length);
  };

  TreePane.prototype.drawHead = function () {
    var crumbs = this.node.querySelector(".crumbs");
    crumbs.textContent = "";
    var tr = D.traces[this.trace];
    var path = [];
    for (var p = this.focus; p >= 0; p = R.parent[p]) path.unshift(p);
    var top = el("a", "", "trace " + tr[0].slice(0, 8) + " · " + tr[9]);
    top.dataset.run = "-1";
    crumbs.appendChild(top);
    path.forEach(function (i) {
      crumbs.appendChild(el("span", "sep", "›"));
      var a = el("a", "", R.name[i]);
      a.dataset.run = String(i);
      crumbs.appendChild(a);
    });
    var f = this.focus;
    var figures = f >= 0
      ? { duration: R.r_dur[f], calls: R.r_calls[f], tools: R.r_tools[f], tokens: R.r_tokens[f], cost: R.r_cost[f], errors: R.r_errors[f], runs: R.size[f] }
      : { duration: tr[4], calls: tr[5], tools: tr[10], tokens: tr[6], cost: tr[7], errors: tr[8], runs: tr[2] };
    var roll = this.node.querySelector(".rollup");
    roll.textContent = "";
    function fig(key, value, label, bad) {
      var s = el("span", bad ? "bad" : "");
      s.dataset.k = key;
      s.appendChild(el("b", "", value));
      if (label) s.appendChild(document.createTextNode(" " + label));
      roll.appendChild(s);
    }
    fig("duration", fmtMs(figures.duration), "");
    fig("runs", fmtInt(figures.runs), plural(figures.runs, "run"));
    fig("calls", fmtInt(figures.calls), plural(figures.calls, "LLM call"));
    fig("tools", fmtInt(figures.tools), plural(figures.tools, "tool call"));
    fig("tokens", fmtInt(figures.tokens), "tokens");
    fig("cost", fmtCost(figures.cost), "");
    fig("errors", fmtInt(figures.errors), plural(figures.errors, "error"), figures.errors > 0);
    this.node.querySelector(".count").textContent = this.keep ? this.matches + " " + plural(this.matches, "match") : "";
    this.node.querySelector(".axis").textContent = "0 – " + fmtMs(this.view[1] - this.view[0]);
  };

  TreePane.prototype.renderRow = function (idx, row) {
    var i = this.rows[idx];
    var c = row.cells;
    if (!c) {
      row.setAttribute("role", "treeitem");
      var name = el("span", "name");
      c = row.cells = {
        name: name, tog: el("span", "tog"), kind: el("span", "kind"), label: el("span", "label"),
        mark: el("span", "errmark"), dur: el("span", "num"), tok: el("span", "num"), cost: el("span", "num"),
        wf: el("span", "wf"), bar: el("i")
      };
      name.appendChild(c.tog);
      name.appendChild(c.kind);
      name.appendChild(c.label);
      name.appendChild(c.mark);
      c.wf.appendChild(c.bar);
      row.appendChild(name);
      row.appendChild(c.dur);
      row.appendChild(c.tok);
      row.appendChild(c.cost);
      row.appendChild(c.wf);
    }
    var base = this.focus >= 0 ? R.depth[this.focus] : 0;
    var depth = R.depth[i] - base;
    var kind = KINDS[R.kind[i]];
    var leaf = R.size[i] === 1;
    var collapsed = !this.keep && this.collapsed.has(i);
    row.dataset.run = R.id[i];
    row.dataset.depth = String(depth);
    row.className = "row" + (i === this.selected ? " sel" : "") + (R.status[i] === 1 ? " err" : "") +
      (R.status[i] === 2 ? " running" : "") + (this.keep && this.keep[i - this.range()[0]] === 2 ? " hit" : "");
    if (leaf) row.removeAttribute("aria-expanded");
    else row.setAttribute("aria-expanded", collapsed ? "false" : "true");
    c.name.style.paddingLeft = depth * 14 + "px";
    c.tog.textContent = leaf ? "" : collapsed ? "▸" : "▾";
    c.kind.textContent = kind;
    c.kind.className = "kind k-" + kind;
    c.label.textContent = R.name[i];
    var errs = R.r_errors[i];
    c.mark.textContent = R.status[i] === 1 ? "✘" : errs > 0 ? "✘" + errs : "";
    c.mark.title = R.status[i] === 1 ? R.error[i] : errs > 0 ? errs + " " + plural(errs, "error") + " below" : "";
    row.title = R.name[i] + (R.error[i] ? "\n" + R.error[i] : "");
    c.dur.textContent = R.status[i] === 2 ? "running" : fmtMs(R.dur[i]);
    c.tok.textContent = R.r_tokens[i] ? fmtInt(R.r_tokens[i]) : "";
    c.cost.textContent = R.r_cost[i] === null ? "" : fmtCost(R.r_cost[i]);
    var span = this.view[1] - this.view[0];
    var left = Math.max(0, (R.start[i] - this.view[0]) / span) * 100;
    var width = Math.max(0, (R.end[i] - R.start[i]) / span) * 100;
    c.bar.style.left = Math.min(left, 100) + "%";
    c.bar.style.width = Math.min(width, 100 - Math.min(left, 100)) + "%";
    c.bar.className = "k-" + kind;
  };

  TreePane.prototype.toggle = function (i) {
    if (R.size[i] === 1 || this.keep) return;
    if (this.collapsed.has(i)) this.collapsed.delete(i);
    else this.collapsed.add(i);
    this.update();
  };

  TreePane.prototype.collapseAll = function () {
    var ab = this.range();
    this.keep = null;
    this.searchInput.value = "";
    for (var i = ab[0]; i < ab[1]; i++) if (R.size[i] > 1 && i !== this.focus) this.collapsed.add(i);
    this.update();
  };

  TreePane.prototype.select = function (i) {
    this.selected = i;
    this.list.draw();
    showDetail(i, this);
  };

  TreePane.prototype.focusOn = function (i) {
    this.focus = i;
    this.keep = null;
    this.searchInput.value = "";
    if (i >= 0) {
      this.collapsed.delete(i);
      this.selected = i;
    }
    this.tree.scrollTop = 0;
    this.update();
    showDetail(this.selected, this);
  };

  TreePane.prototype.search = function (query) {
    var q = query.trim().toLowerCase();
    if (!q) {
      this.keep = null;
      this.update();
      return;
    }
    var ab = this.range(), a = ab[0], b = ab[1];
    var keep = new Uint8Array(b - a);
    var n = 0;
    for (var i = a; i < b; i++) {
      if (haystack(i).indexOf(q) < 0) continue;
      n++;
      keep[i - a] = 2;
      for (var p = R.parent[i]; p >= a && keep[p - a] === 0; p = R.parent[p]) keep[p - a] = 1;
    }
    this.keep = keep;
    this.matches = n;
    this.tree.scrollTop = 0;
    this.update();
  };

  TreePane.prototype.key = function (e) {
    var pos = this.rows.indexOf(this.selected);
    var i = this.selected;
    if (e.key === "ArrowDown" && pos < this.rows.length - 1) pos++;
    else if (e.key === "ArrowUp" && pos > 0) pos--;
    else if (e.key === "ArrowRight" && i >= 0 && this.collapsed.has(i)) { this.toggle(i); e.preventDefault(); return; }
    else if (e.key === "ArrowLeft" && i >= 0 && R.size[i] > 1 && !this.collapsed.has(i) && !this.keep) { this.toggle(i); e.preventDefault(); return; }
    else if (e.key === "ArrowLeft" && i >= 0 && R.parent[i] >= this.range()[0]) pos = this.rows.indexOf(R.parent[i]);
    else if (e.key === "Enter" && i >= 0) { this.focusOn(i); e.preventDefault(); return; }
    else if (e.key === "Escape") { this.focusOn(-1); e.preventDefault(); return; }
    else return;
    e.preventDefault();
    if (pos >= 0) {
      this.select(this.rows[pos]);
      this.list.reveal(pos);
    }
  };

  // -- side panel -------------------------------------------------------------------------

  var detailEl = document.getElementById("detail");
  var LIMIT = 200000;

  function section(title, value) {
    var box = el("details");
    box.open = true;
    box.dataset.section = title.toLowerCase();
    box.appendChild(el("summary", "", title));
    var text = JSON.stringify(value, null, 2);
    var pre = el("pre", "", text.length > LIMIT ? text.slice(0, LIMIT) : text);
    box.appendChild(pre);
    if (text.length > LIMIT) {
      var more = el("button", "", "Show all " + fmtInt(text.length) + " characters");
      more.type = "button";
      more.addEventListener("click", function () { pre.textContent = text; more.remove(); });
      box.appendChild(more);
    }
    return box;
  }

  function table(pairs) {
    var t = el("table");
    pairs.forEach(function (kv) {
      if (kv[1] === null || kv[1] === undefined || kv[1] === "") return;
      var tr = el("tr");
      tr.appendChild(el("td", "", kv[0]));
      tr.appendChild(el("td", kv[2] || "", kv[1]));
      t.appendChild(tr);
    });
    return t;
  }

  function isEmpty(v) {
    return v === null || v === undefined || (typeof v === "object" && Object.keys(v).length === 0);
  }

  function showDetail(i, pane) {
    detailEl.textContent = "";
    if (i < 0) return;
    var d = JSON.parse(detailText(i));
    var run = d.run;
    detailEl.dataset.run = R.id[i];
    detailEl.appendChild(el("h2", "", R.name[i]));
    var status = el("div", "status");
    var label = R.status[i] === 1 ? "✘ error" : R.status[i] === 2 ? "running (no end recorded)" : "✔ ok";
    status.appendChild(el("span", R.status[i] === 1 ? "bad" : R.status[i] === 2 ? "" : "ok", label));
    if (R.error[i]) status.appendChild(el("div", "bad", R.error[i]));
    detailEl.appendChild(status);
    var actions = el("div", "actions");
    var focus = el("button", "", "Focus on this subtree");
    focus.type = "button";
    focus.addEventListener("click", function () { pane.focusOn(i); });
    actions.appendChild(focus);
    if (pane.focus >= 0) {
      var back = el("button", "", "Whole trace");
      back.type = "button";
      back.addEventListener("click", function () { pane.focusOn(-1); });
      actions.appendChild(back);
    }
    detailEl.appendChild(actions);
    detailEl.appendChild(table([
      ["kind", KINDS[R.kind[i]]],
      ["started", fmtTime(run.start * 1000) + "." + String(Math.floor((run.start * 1000) % 1000)).padStart(3, "0")],
      ["duration", R.status[i] === 2 ? "running" : fmtMs(R.dur[i])],
      ["model", R.model[i]],
      ["tool", R.tool[i]],
      ["tokens", R.input_tokens[i] === null ? null : fmtInt(R.input_tokens[i]) + " in + " + fmtInt(R.output_tokens[i]) + " out"],
      ["cost", R.cost[i] === null ? null : fmtCost(R.cost[i])],
      ["user", run.user_id],
      ["tags", run.tags && run.tags.length ? run.tags.join(", ") : null],
      ["run id", run.run_id],
      ["parent", run.parent_run_id],
      ["trace id", run.trace_id]
    ]));
    if (R.size[i] > 1) {
      var sub = el("details");
      sub.open = true;
      sub.dataset.section = "subtree";
      sub.appendChild(el("summary", "", "This subtree"));
      sub.appendChild(table([
        ["runs", fmtInt(R.size[i])],
        ["duration", fmtMs(R.r_dur[i])],
        ["LLM calls", fmtInt(R.r_calls[i])],
        ["tool calls", fmtInt(R.r_tools[i])],
        ["tokens", fmtInt(R.r_tokens[i])],
        ["cost", fmtCost(R.r_cost[i])],
        ["errors", fmtInt(R.r_errors[i]), R.r_errors[i] ? "bad" : ""]
      ]));
      detailEl.appendChild(sub);
    }
    [["Inputs", d.inputs], ["Outputs", d.outputs], ["Usage", d.usage], ["Metadata", d.metadata], ["Events", d.events]]
      .forEach(function (s) { if (!isEmpty(s[1])) detailEl.appendChild(section(s[0], s[1])); });
  }

  // -- trace list -------------------------------------------------------------------------

  var traceHost = document.getElementById("trace-list");
  var traceRows = D.traces.map(function (_, t) { return t; });
  var traceList = new VirtualList(traceHost, function (idx, row) {
    var t = traceRows[idx];
    var tr = D.traces[t];
    var c = row.cells;
    if (!c) {
      row.setAttribute("role", "option");
      c = row.cells = [];
      for (var k = 0; k < 7; k++) {
        var s = el("span", k >= 2 ? "num" : "");
        row.appendChild(s);
        c.push(s);
      }
    }
    row.dataset.trace = tr[0];
    row.className = "row" + (active && active.trace === t ? " sel" : "") +
      (panes.some(function (p) { return p.trace === t; }) ? " open" : "");
    row.title = fmtTime(tr[3]) + "\ntrace " + tr[0] + "\n" + tr[9];
    c[0].textContent = fmtTime(tr[3]).slice(11);
    c[1].textContent = tr[9];
    c[2].textContent = fmtMs(tr[4]);
    c[3].textContent = fmtInt(tr[5]);
    c[4].textContent = fmtInt(tr[6]);
    c[5].textContent = fmtCost(tr[7]);
    c[6].textContent = fmtInt(tr[8]);
    c[6].className = "num" + (tr[8] > 0 ? " bad" : "");
  });
  traceHost.addEventListener("click", function (e) {
    var row = e.target.closest(".row");
    if (row && active) active.show(traceRows[+row.dataset.index]);
  });
  traceHost.addEventListener("keydown", function (e) {
    if (!active || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
    var pos = traceRows.indexOf(active.trace) + (e.key === "ArrowDown" ? 1 : -1);
    if (pos >= 0 && pos < traceRows.length) {
      active.show(traceRows[pos]);
      traceList.reveal(pos);
    }
    e.preventDefault();
  });

  var traceFilter = document.getElementById("trace-filter");
  var traceErrors = document.getElementById("trace-errors");
  function filterTraces() {
    var q = traceFilter.value.trim().toLowerCase();
    var errorsOnly = traceErrors.checked;
    traceRows = [];
    D.traces.forEach(function (tr, t) {
      if (errorsOnly && !(tr[8] > 0)) return;
      if (q && (tr[9] + "\n" + tr[0]).toLowerCase().indexOf(q) < 0) return;
      traceRows.push(t);
    });
    traceList.setCount(traceRows.length);
  }
  traceFilter.addEventListener("input", filterTraces);
  traceErrors.addEventListener("change", filterTraces);

  // -- compare ------------------------------------------------------------------------------

  var compare = document.getElementById("compare");
  compare.addEventListener("change", function () {
    if (compare.checked && panes.length === 1) {
      var second = new TreePane(2);
      panes.push(second);
      panesEl.classList.add("two");
      document.getElementById("main").classList.add("two");
      var other = D.traces.length > 1 ? (panes[0].trace + 1) % D.traces.length : 0;
      second.show(other);
      activate(second);
    } else if (!compare.checked && panes.length === 2) {
      var gone = panes.pop();
      gone.node.remove();
      panesEl.classList.remove("two");
      document.getElementById("main").classList.remove("two");
      activate(panes[0]);
      traceList.draw();
    }
  });

  // -- start --------------------------------------------------------------------------------

  var totalRuns = R.id.length;
  document.getElementById("summary").textContent =
    fmtInt(D.events) + " events · " + fmtInt(D.traces.length) + " " + plural(D.traces.length, "trace") + " · " +
    fmtInt(totalRuns) + " " + plural(totalRuns, "run") + (D.skipped ? " · " + fmtInt(D.skipped) + " unreadable records skipped" : "");
  var first = new TreePane(1);
  panes.push(first);
  active = first;
  first.node.classList.add("active");
  traceList.setCount(traceRows.length);
  if (D.traces.length) {
    first.show(0);
  } else {
    panesEl.appendChild(el("p", "empty", "No traces in this recording."));
    first.node.remove();
  }
  document.documentElement.dataset.loadMs = String(Math.round(performance.now() - t0));
  document.documentElement.dataset.ready = "1";
})();

// The catalogue's explorer (partnerdata): filter, sort, page through and download the records of a
// resource, and open one record. A classic script with no dependency, so that it runs from the disk
// (file://) as from any static host. The page's <script id="explore-config"> says what to show and
// where the rows are: "memory" (a script file of the CSV's cells, loaded before this one) or
// "duckdb" (the release's Parquet file, queried with DuckDB-WASM over HTTP range requests).
// Every text from the data is put in the page with textContent, never as HTML.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("explore-config").textContent);
  var texts = config.texts;
  var columns = config.columns;
  var byName = {};
  columns.forEach(function (c, i) { c.index = i; byName[c.name] = c; });
  var shown = config.shown.map(function (name) { return byName[name]; });
  var keyIndexes = config.key.map(function (name) { return byName[name].index; });
  var state = { filters: {}, text: "", sort: null, descending: false, page: 0 };
  var store = null;
  var generation = 0; // a newer query's answer wins; an older one is dropped

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] === undefined ? all : String(values[name]);
    });
  }
  function formatNumber(n) { return Number(n).toLocaleString(config.language === "nl" ? "nl-BE" : "en"); }
  function el(tag, text, attributes) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (attributes) Object.keys(attributes).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    return node;
  }
  function recordId(row) { return keyIndexes.map(function (i) { return row[i]; }).join("/"); }
  function label(column, value) {
    if (!value) return "";
    if (column.vocabulary) {
      var parts = column.list ? value.split(column.delimiter) : [value];
      return parts.filter(Boolean).map(function (p) { return column.labels[p] || p; }).join("; ");
    }
    if (column.type === "boolean") return value === "true" ? texts.yes : value === "false" ? texts.no : value;
    return value;
  }
  function shorten(value) {
    return value.length <= config.cellMostChars ? value : value.slice(0, config.cellMostChars - 1).replace(/\s+$/, "") + "\u2026";
  }

  // --- the memory engine: the CSV's cells, filtered here --------------------------------------
  function MemoryStore(rows) {
    this.rows = rows;
  }
  MemoryStore.prototype.matching = function (query) {
    var tests = [];
    config.filters.forEach(function (spec) {
      var wanted = query.filters[spec.id];
      if (!wanted) return;
      var column = byName[spec.field];
      var i = column.index;
      if (spec.kind === "contains") {
        tests.push(function (row) { return row[i] !== "" && row[i].split(column.delimiter).indexOf(wanted) >= 0; });
      } else if (spec.kind === "year") {
        tests.push(function (row) { return row[i].slice(0, 4) === wanted; });
      } else {
        tests.push(function (row) { return row[i] === wanted; });
      }
    });
    if (query.text) {
      var needle = query.text.toLowerCase();
      var searched = config.searched.map(function (name) { return byName[name].index; });
      tests.push(function (row) {
        return searched.some(function (i) { return row[i].toLowerCase().indexOf(needle) >= 0; });
      });
    }
    var found = this.rows.filter(function (row) { return tests.every(function (t) { return t(row); }); });
    if (query.sort) {
      var column = byName[query.sort];
      var i = column.index;
      var numeric = column.type === "integer" || column.type === "number" || column.type === "year";
      var sign = query.descending ? -1 : 1;
      found = found.map(function (row, position) { return [row, position]; });
      found.sort(function (a, b) {
        var x = a[0][i], y = b[0][i];
        if (x === "" || y === "") return x === y ? a[1] - b[1] : x === "" ? 1 : -1; // empty cells last
        var order = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
        return order !== 0 ? sign * order : a[1] - b[1];
      });
      found = found.map(function (pair) { return pair[0]; });
    }
    return found;
  };
  MemoryStore.prototype.query = function (query) {
    var found = this.matching(query);
    var start = query.page * config.pageRows;
    return Promise.resolve({ total: found.length, rows: found.slice(start, start + config.pageRows) });
  };
  MemoryStore.prototype.csv = function (query) {
    return Promise.resolve({ rows: this.matching(query), made: "cells" });
  };
  MemoryStore.prototype.record = function (id) {
    for (var r = 0; r < this.rows.length; r++) if (recordId(this.rows[r]) === id) return Promise.resolve(this.rows[r]);
    return Promise.resolve(null);
  };

  // --- the DuckDB engine: SQL over the release's Parquet file ---------------------------------
  function quoteName(name) { return '"' + name.replace(/"/g, '""') + '"'; }
  function DuckStore(duckdb, connection) {
    this.duckdb = duckdb;
    this.connection = connection;
    this.select = columns.map(function (c) {
      var name = quoteName(c.name);
      var cell = c.list ? "array_to_string(" + name + ", '" + c.delimiter.replace(/'/g, "''") + "')" : "CAST(" + name + " AS VARCHAR)";
      return "coalesce(" + cell + ", '') AS " + name;
    }).join(", ");
  }
  DuckStore.prototype.where = function (query) {
    var clauses = [], values = [];
    config.filters.forEach(function (spec) {
      var wanted = query.filters[spec.id];
      if (!wanted) return;
      var name = quoteName(spec.field);
      if (spec.kind === "contains") { clauses.push("list_contains(" + name + ", ?)"); values.push(wanted); }
      else if (spec.kind === "year") { clauses.push("year(" + name + ") = ?"); values.push(Number(wanted)); }
      else if (byName[spec.field].type === "year" || byName[spec.field].type === "integer") { clauses.push(name + " = ?"); values.push(Number(wanted)); }
      else { clauses.push(name + " = ?"); values.push(wanted); }
    });
    if (query.text) {
      clauses.push("(" + config.searched.map(function (n) { return "contains(lower(coalesce(" + quoteName(n) + ", '')), ?)"; }).join(" OR ") + ")");
      config.searched.forEach(function () { values.push(query.text.toLowerCase()); });
    }
    return { sql: clauses.length ? " WHERE " + clauses.join(" AND ") : "", values: values };
  };
  DuckStore.prototype.run = function (sql, values) {
    var connection = this.connection;
    return connection.prepare(sql).then(function (statement) {
      return statement.query.apply(statement, values).then(function (table) {
        statement.close();
        return table;
      });
    });
  };
  DuckStore.prototype.rowsOf = function (table) {
    var names = columns.map(function (c) { return c.name; });
    return table.toArray().map(function (record) {
      var row = record.toJSON();
      return names.map(function (n) { return row[n] === null || row[n] === undefined ? "" : String(row[n]); });
    });
  };
  DuckStore.prototype.order = function (query) {
    if (!query.sort) return "";
    return " ORDER BY " + quoteName(query.sort) + (query.descending ? " DESC" : " ASC") + " NULLS LAST";
  };
  DuckStore.prototype.query = function (query) {
    var self = this, where = this.where(query);
    return this.run("SELECT count(*)::INTEGER AS n FROM src" + where.sql, where.values).then(function (counted) {
      var total = counted.toArray()[0].toJSON().n;
      var sql = "SELECT " + self.select + " FROM src" + where.sql + self.order(query) +
        " LIMIT " + config.pageRows + " OFFSET " + query.page * config.pageRows;
      return self.run(sql, where.values).then(function (table) { return { total: total, rows: self.rowsOf(table) }; });
    });
  };
  DuckStore.prototype.csv = function (query) {
    var self = this, where = this.where(query);
    var sql = "SELECT " + self.select + " FROM src" + where.sql + self.order(query) + " LIMIT " + (config.csvMostRows + 1);
    return this.run(sql, where.values).then(function (table) { return { rows: self.rowsOf(table), made: "duckdb" }; });
  };
  DuckStore.prototype.record = function (id) {
    var parts = id.split("/");
    var sql = "SELECT " + this.select + " FROM src WHERE " + config.key.map(function (k) { return quoteName(k) + " = ?"; }).join(" AND ");
    var self = this;
    return this.run(sql, parts).then(function (table) { var rows = self.rowsOf(table); return rows.length ? rows[0] : null; });
  };

  function openDuckDB() {
    if (location.protocol === "file:") return Promise.reject(new Error(texts.needs_server));
    var base = new URL(config.duckdb, location.href).href;
    var parquet = new URL(config.parquet, location.href).href;
    return import(base + "duckdb-browser.mjs").then(function (duckdb) {
      var bundles = {
        mvp: { mainModule: base + "duckdb-mvp.wasm", mainWorker: base + "duckdb-browser-mvp.worker.js" },
        eh: { mainModule: base + "duckdb-eh.wasm", mainWorker: base + "duckdb-browser-eh.worker.js" }
      };
      return duckdb.selectBundle(bundles).then(function (bundle) {
        var worker = new Worker(bundle.mainWorker);
        var db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
        return db.instantiate(bundle.mainModule).then(function () { return db.open({}); })
          .then(function () { return db.registerFileURL(config.resource + ".parquet", parquet, duckdb.DuckDBDataProtocol.HTTP, false); })
          .then(function () { return db.connect(); })
          .then(function (connection) {
            // Nothing but the release's file: no extension is fetched from another host.
            return connection.query("SET autoinstall_known_extensions = false").catch(function () {})
              .then(function () { return connection.query("SET autoload_known_extensions = false").catch(function () {}); })
              .then(function () {
                return connection.query("CREATE VIEW src AS SELECT * FROM read_parquet('" + config.resource + ".parquet')");
              })
              .then(function () { return new DuckStore(duckdb, connection); });
          });
      });
    });
  }

  // --- drawing --------------------------------------------------------------------------------
  var status = document.getElementById("status");
  var tbody = document.querySelector("#records tbody");
  var pager = document.getElementById("pager");
  var download = document.getElementById("download");
  var downloadUrl = null;

  function cell(row, column) {
    var td = el("td");
    var value = row[column.index];
    if (config.key.indexOf(column.name) >= 0) {
      td.appendChild(el("a", value, { href: "#record=" + encodeURIComponent(recordId(row)) }));
    } else if (column.link && value) {
      td.appendChild(el("a", value, { href: column.link + "#record=" + encodeURIComponent(value) }));
    } else {
      td.textContent = shorten(label(column, value));
    }
    return td;
  }

  function draw(answer) {
    tbody.textContent = "";
    answer.rows.forEach(function (row) {
      var tr = el("tr");
      shown.forEach(function (column) { tr.appendChild(cell(row, column)); });
      tbody.appendChild(tr);
    });
    var pages = Math.max(1, Math.ceil(answer.total / config.pageRows));
    status.textContent = answer.total === 0 ? texts.none : say(texts.status, {
      shown: formatNumber(answer.rows.length), total: formatNumber(answer.total), all: formatNumber(config.total)
    });
    document.getElementById("page-number").textContent = say(texts.page, { page: state.page + 1, pages: pages });
    document.getElementById("previous").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page + 1 >= pages;
    pager.hidden = pages <= 1;
    download.textContent = say(texts.download, { rows: formatNumber(answer.total) });
  }

  function refresh() {
    var mine = ++generation;
    status.textContent = texts.loading;
    return store.query(state).then(function (answer) {
      if (mine === generation) draw(answer);
    }, failed);
  }

  function failed(error) {
    status.textContent = say(texts.failed, { error: error && error.message ? error.message : String(error) });
  }

  function csvCell(value) {
    return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
  }
  function csvText(rows) {
    var lines = [columns.map(function (c) { return csvCell(c.name); }).join(",")];
    rows.forEach(function (row) { lines.push(row.map(csvCell).join(",")); });
    return lines.join("\n") + "\n";
  }

  download.addEventListener("click", function (event) {
    if (!store) return; // the link's own target: the whole file
    event.preventDefault();
    store.csv(state).then(function (answer) {
      if (answer.rows.length > config.csvMostRows) {
        status.textContent = say(texts.too_many, { most: formatNumber(config.csvMostRows) });
        return;
      }
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(new Blob([csvText(answer.rows)], { type: "text/csv;charset=utf-8" }));
      var link = el("a", null, { href: downloadUrl, download: config.csvName });
      document.body.appendChild(link);
      link.click();
      link.remove();
    }, failed);
  });

  // Sorting: each column heading becomes a button; aria-sort says the order.
  shown.forEach(function (column) {
    var th = document.querySelector('#records th[data-column="' + column.name + '"]');
    var button = el("button", column.title, { type: "button", "aria-label": say(texts.sort_by, { field: column.title }) });
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      state.descending = state.sort === column.name ? !state.descending : false;
      state.sort = column.name;
      state.page = 0;
      document.querySelectorAll("#records th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      refresh();
    });
  });

  var form = document.getElementById("filters");
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  var typing = null;
  form.querySelectorAll("[data-filter]").forEach(function (control) {
    var update = function () {
      var id = control.getAttribute("data-filter");
      if (id === "text") state.text = control.value.trim(); else state.filters[id] = control.value;
      state.page = 0;
      refresh();
    };
    if (control.tagName === "INPUT") {
      control.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(update, 200); });
    } else {
      control.addEventListener("change", update);
    }
  });
  form.addEventListener("reset", function () {
    setTimeout(function () {
      state = { filters: {}, text: "", sort: null, descending: false, page: 0 };
      document.querySelectorAll("#records th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      refresh();
    }, 0);
  });
  document.getElementById("previous").addEventListener("click", function () { state.page -= 1; refresh(); });
  document.getElementById("next").addEventListener("click", function () { state.page += 1; refresh(); });

  // --- the record panel -----------------------------------------------------------------------
  var panel = document.getElementById("record");
  function showRecord(id) {
    store.record(id).then(function (row) {
      var list = document.getElementById("record-fields");
      list.textContent = "";
      var heading = document.getElementById("record-heading");
      if (!row) {
        heading.textContent = say(texts.not_found, { id: id });
      } else {
        heading.textContent = say(texts.record, { id: id });
        columns.forEach(function (column) {
          list.appendChild(el("dt", column.title));
          var dd = el("dd");
          var value = row[column.index];
          if (column.link && value) dd.appendChild(el("a", value, { href: column.link + "#record=" + encodeURIComponent(value) }));
          else dd.textContent = label(column, value);
          list.appendChild(dd);
        });
        var source = config.sources[row[byName.source_id ? byName.source_id.index : -1]];
        if (source) {
          list.appendChild(el("dt", texts.source));
          list.appendChild(el("dd", source.title + (source.organisation ? " (" + source.organisation + ")" : "")));
          list.appendChild(el("dt", texts.snapshot));
          list.appendChild(el("dd", source.snapshot));
        }
      }
      panel.hidden = false;
      panel.focus();
    }, failed);
  }
  function fromHash() {
    var match = /^#record=(.*)$/.exec(location.hash);
    if (match) showRecord(decodeURIComponent(match[1]));
    else panel.hidden = true;
  }
  document.getElementById("record-close").addEventListener("click", function () {
    var id = /^#record=(.*)$/.exec(location.hash);
    history.replaceState(null, "", location.pathname + location.search);
    panel.hidden = true;
    // Back to the record's link in the table, when it is on this page.
    var link = id && document.querySelector('#records tbody a[href="#record=' + id[1] + '"]');
    if (link) link.focus();
  });
  window.addEventListener("hashchange", fromHash);

  // --- start ----------------------------------------------------------------------------------
  function start(opened) {
    store = opened;
    form.hidden = false;
    refresh().then(fromHash);
  }
  if (config.engine === "memory") {
    var data = window.partnerdataRows && window.partnerdataRows[config.resource];
    if (!data || data.version !== config.version) { failed(new Error("rows of " + config.resource + " " + config.version)); return; }
    start(new MemoryStore(data.rows));
  } else {
    status.textContent = texts.loading;
    openDuckDB().then(start, failed);
  }
})();

// Device page: uPlot charts fed by /api/v1/history through the member's session (?org=<slug>),
// a range picker, and a live refresh of charts and latest values without reloading the page.
// Each chart's <figure> carries data-points (timestamps drawn) and data-loads (draws so far), which
// the browser tests read; they are also what a person sees in the summary line under each chart.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("page-config").textContent);
  const RELATIVE = { "1h": "-1h", "24h": "-24h", "7d": "-7d", "30d": "-30d" };
  const COLOURS = ["#0b5cad", "#b54708", "#18794e", "#7a2e9a"]; // >= 4.5:1 on white
  const status = document.getElementById("live-status");
  const charts = {}; // id -> {def, figure, plot, window}
  let range = { key: "1h", start: "-1h", end: "now" };
  let timer = null;
  let generation = 0; // answers to an older range (a refresh still in flight when it changed) are dropped

  function apiError(body, response) {
    return (body && body.message) || `HTTP ${response.status}`;
  }

  async function getJson(path, params) {
    const query = new URLSearchParams(params);
    query.set("org", cfg.org);
    const response = await fetch(`${path}?${query}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error(apiError(body, response));
    return body;
  }

  // History answers one series per field; align them on the union of their bucket times.
  function toColumns(def, answer) {
    const byField = new Map(answer.series.map((s) => [s.field, s.points]));
    const times = new Set();
    for (const points of byField.values()) for (const [t] of points) times.add(Date.parse(t) / 1000);
    const xs = Array.from(times).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const columns = def.fields.map((field) => {
      const column = new Array(xs.length).fill(null);
      for (const [t, v] of byField.get(field) || []) column[index.get(Date.parse(t) / 1000)] = v;
      return column;
    });
    return [xs, ...columns];
  }

  // 12.34, 567, 12.3k, 4.5M, 6.7G: short enough for the axis at phone width.
  function format(value, unit) {
    if (value === null || value === undefined) return "–";
    const size = Math.abs(value);
    let text;
    if (size >= 1e9) text = `${(value / 1e9).toFixed(1)}G`;
    else if (size >= 1e6) text = `${(value / 1e6).toFixed(1)}M`;
    else if (size >= 1e4) text = `${(value / 1e3).toFixed(1)}k`;
    else text = size >= 100 ? value.toFixed(0) : value.toFixed(2);
    return unit ? `${text} ${unit}` : text;
  }

  function plotOptions(chart) {
    const el = chart.figure.querySelector(".plot");
    return {
      width: Math.max(260, el.clientWidth || 600),
      height: 220,
      scales: { x: { time: true, range: () => chart.window } },
      series: [
        {},
        ...chart.def.fields.map((field, i) => ({
          label: field,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          points: { show: true, size: 4 },
          value: (u, v) => format(v, chart.def.unit),
        })),
      ],
      axes: [{}, { size: 60, values: (u, ticks) => ticks.map((v) => format(v, "")) }],
    };
  }

  function draw(chart, answer) {
    const data = toColumns(chart.def, answer);
    chart.window = [Date.parse(answer.start) / 1000, Date.parse(answer.end) / 1000];
    if (!chart.plot) {
      chart.plot = new uPlot(plotOptions(chart), data, chart.figure.querySelector(".plot"));
    } else {
      chart.plot.setData(data);
    }
    const count = data[0].length;
    chart.figure.dataset.points = String(count);
    chart.figure.dataset.loads = String(Number(chart.figure.dataset.loads || 0) + 1);
    const latest = chart.def.fields
      .map((field, i) => `${field} ${format(data[i + 1][count - 1], chart.def.unit)}`)
      .join(", ");
    const step = answer.step_seconds >= 60 ? `${answer.step_seconds / 60} min` : `${answer.step_seconds} s`;
    chart.figure.querySelector(".chart-summary").textContent = count
      ? `${count} points (${answer.agg} per ${step}); latest: ${latest}`
      : "No data in this range.";
  }

  async function load(chart, gen = generation) {
    const params = new URLSearchParams({
      device: cfg.device,
      measurement: chart.def.measurement,
      start: range.start,
      end: range.end,
    });
    for (const field of chart.def.fields) params.append("field", field);
    try {
      const answer = await getJson("/api/v1/history", params);
      if (gen === generation) draw(chart, answer);
    } catch (error) {
      if (gen === generation) chart.figure.querySelector(".chart-summary").textContent = `Could not load: ${error.message}`;
      throw error;
    }
  }

  function seriesKey(series, field) {
    const tags = Object.keys(series.tags)
      .sort()
      .map((k) => `${k}=${series.tags[k]}`)
      .join(",");
    return `${series.measurement}|${tags}|${field}`;
  }

  // As the server renders it (Python's str): 40.0 stays "40.0", booleans are True/False.
  function shown(field) {
    if (field.type === "bool") return field.value ? "True" : "False";
    if (field.type === "float" && Number.isInteger(field.value)) return field.value.toFixed(1);
    return String(field.value);
  }

  async function refreshLatest() {
    const answer = await getJson(`/api/v1/devices/${encodeURIComponent(cfg.slug)}/series`, {});
    for (const series of answer.series) {
      for (const field of series.fields) {
        const key = CSS.escape(seriesKey(series, field.name));
        const cell = document.querySelector(`[data-latest="${key}"]`);
        if (cell) cell.textContent = shown(field);
        const time = document.querySelector(`[data-latest-time="${key}"] time`);
        if (time) {
          time.dateTime = field.time;
          time.title = field.time.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
          time.textContent = field.time.slice(11, 19);
        }
      }
    }
  }

  async function refreshAll() {
    const gen = generation;
    const jobs = Object.values(charts).map((chart) => load(chart, gen));
    if (RELATIVE[range.key]) jobs.push(refreshLatest());
    const results = await Promise.allSettled(jobs);
    if (gen !== generation) return;
    const failed = results.filter((r) => r.status === "rejected");
    const now = new Date().toLocaleTimeString();
    const live = RELATIVE[range.key] ? `live, every ${cfg.refresh_seconds} s` : "custom range: not refreshing";
    status.textContent = failed.length
      ? `Updated ${now} with errors: ${failed[0].reason.message}`
      : `Updated ${now} (${live})`;
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = RELATIVE[range.key] ? setInterval(refreshAll, cfg.refresh_seconds * 1000) : null;
  }

  function addChart(def) {
    const figure = document.getElementById(`chart-${def.id}`);
    if (charts[def.id] && charts[def.id].plot) charts[def.id].plot.destroy();
    charts[def.id] = { def, figure, plot: null, window: null };
    figure.dataset.points = "";
    return charts[def.id];
  }

  function localInput(date) {
    const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return shifted.toISOString().slice(0, 16);
  }

  const customBox = document.getElementById("custom-range");
  const customStart = document.getElementById("custom-start");
  const customEnd = document.getElementById("custom-end");
  document.querySelectorAll('input[name="range"]').forEach((radio) => {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      customBox.hidden = radio.value !== "custom";
      if (radio.value === "custom") {
        if (!customEnd.value) customEnd.value = localInput(new Date());
        if (!customStart.value) customStart.value = localInput(new Date(Date.now() - 6 * 3600 * 1000));
        customStart.focus();
        return;
      }
      range = { key: radio.value, start: RELATIVE[radio.value], end: "now" };
      generation += 1;
      schedule();
      refreshAll();
    });
  });
  document.getElementById("custom-apply").addEventListener("click", () => {
    const start = new Date(customStart.value);
    const end = new Date(customEnd.value);
    if (isNaN(start) || isNaN(end) || start >= end) {
      status.textContent = "Custom range: choose a start before the end.";
      return;
    }
    range = { key: "custom", start: start.toISOString(), end: end.toISOString() };
    generation += 1;
    schedule();
    refreshAll();
  });

  document.getElementById("chosen-field").addEventListener("change", (event) => {
    const value = event.target.value;
    if (!value) return;
    const dot = value.indexOf(".");
    const chart = addChart({
      id: "chosen",
      title: value,
      measurement: value.slice(0, dot),
      fields: [value.slice(dot + 1)],
      unit: "",
    });
    load(chart).catch(() => {});
  });

  window.addEventListener("resize", () => {
    for (const chart of Object.values(charts)) {
      if (!chart.plot) continue;
      const el = chart.figure.querySelector(".plot");
      chart.plot.setSize({ width: Math.max(260, el.clientWidth), height: 220 });
    }
  });

  cfg.charts.forEach(addChart);
  refreshAll();
  schedule();
})();

// Device page: uPlot charts fed by /api/v1/history through the member's session (?org=<slug>),
// a range picker, time bands (load-test runs, ...), and a live refresh of charts and latest values.
// A chart with `group_by` (disk per mount, network per interface) draws one line per tag value.
// Each chart's <figure> carries data-points (timestamps drawn), data-lines (lines drawn), data-loads
// (draws so far) and data-bands, which the browser tests read; the summary line under each chart says
// the same to a person (and to a screen reader, instead of the canvas).
(function () {
  "use strict";
  const B = window.BeaconCharts;
  const cfg = B.config();
  const charts = {}; // id -> {def, figure, plot, window, keys, bands}
  let generation = 0; // answers to an older range (a refresh still in flight when it changed) are dropped
  let bands = [];

  // One line per (field, group): history answers one series per field and tag group.
  function lineLabel(def, series) {
    const groups = Object.values(series.tags || {}).join(" ");
    if (!groups) return series.field;
    return def.fields.length > 1 ? `${groups} ${series.field.replace(/_per_sec$/, "")}` : groups;
  }

  function toColumns(def, answer) {
    const lines = answer.series.map((s) => ({ key: `${s.field}|${JSON.stringify(s.tags || {})}`, label: lineLabel(def, s), points: s.points }));
    if (!def.group_by) {
      // Without grouping keep the chart's own fields, in its order, even those without data.
      const byField = new Map(answer.series.map((s) => [s.field, s.points]));
      lines.length = 0;
      for (const field of def.fields) lines.push({ key: field, label: field, points: byField.get(field) || [] });
    }
    const times = new Set();
    for (const line of lines) for (const [t] of line.points) times.add(Date.parse(t) / 1000);
    const xs = Array.from(times).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const columns = lines.map((line) => {
      const column = new Array(xs.length).fill(null);
      for (const [t, v] of line.points) column[index.get(Date.parse(t) / 1000)] = v;
      return column;
    });
    return { lines, data: [xs, ...columns] };
  }

  function plotOptions(chart, lines) {
    return {
      width: B.plotWidth(chart.figure),
      height: 220,
      scales: { x: { time: true, range: () => chart.window } },
      plugins: [B.bandsPlugin(chart)],
      series: [
        {},
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: B.COLOURS[i % B.COLOURS.length],
          width: 2,
          dash: i >= B.COLOURS.length ? [6, 3] : undefined, // past the palette, a dash tells lines apart
          points: { show: true, size: 4 },
          value: (u, v) => B.format(v, chart.def.unit),
        })),
      ],
      axes: [{}, { size: 60, values: (u, ticks) => ticks.map((v) => B.format(v, "")) }],
    };
  }

  function draw(chart, answer) {
    const { lines, data } = toColumns(chart.def, answer);
    chart.window = [Date.parse(answer.start) / 1000, Date.parse(answer.end) / 1000];
    chart.bands = bands;
    const keys = lines.map((line) => line.key).join("\n");
    if (chart.plot && chart.keys !== keys) {
      chart.plot.destroy(); // another set of mounts or interfaces: new series, new legend
      chart.plot = null;
    }
    if (!chart.plot) {
      chart.plot = new uPlot(plotOptions(chart, lines), data, chart.figure.querySelector(".plot"));
      chart.keys = keys;
    } else {
      chart.plot.setData(data);
    }
    const count = data[0].length;
    chart.figure.dataset.points = String(count);
    chart.figure.dataset.lines = count ? String(lines.length) : "0";
    chart.figure.dataset.loads = String(Number(chart.figure.dataset.loads || 0) + 1);
    const latest = lines.map((line, i) => `${line.label} ${B.format(data[i + 1][count - 1], chart.def.unit)}`).join(", ");
    const per = chart.def.group_by && lines.length ? `${lines.length} line${lines.length === 1 ? "" : "s"}, ` : "";
    chart.figure.querySelector(".chart-summary").textContent = count
      ? `${count} points (${per}${answer.agg} per ${B.stepText(answer.step_seconds)}); latest: ${latest}`
      : "No data in this range.";
  }

  async function load(chart, range, gen = generation) {
    const params = new URLSearchParams({
      device: cfg.device,
      measurement: chart.def.measurement,
      start: range.start,
      end: range.end,
    });
    for (const field of chart.def.fields) params.append("field", field);
    if (chart.def.group_by) params.append("group_by", chart.def.group_by);
    try {
      const answer = await B.getJson("/api/v1/history", params, cfg.org);
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
    const answer = await B.getJson(`/api/v1/devices/${encodeURIComponent(cfg.slug)}/series`, {}, cfg.org);
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

  async function refreshBands(range) {
    bands = await B.loadBands(cfg.org, range.start, range.end, cfg.slug);
    B.showBandsLegend(bands);
    for (const chart of Object.values(charts)) {
      chart.bands = bands;
      if (chart.plot) chart.plot.redraw(false);
    }
  }

  async function refreshAll() {
    const gen = generation;
    const range = picker.current();
    const jobs = [refreshBands(range)];
    jobs.push(...Object.values(charts).map((chart) => load(chart, range, gen)));
    if (picker.live()) jobs.push(refreshLatest());
    const results = await Promise.allSettled(jobs);
    if (gen !== generation) return;
    B.reportStatus(results, picker.live() ? `live, every ${cfg.refresh_seconds} s` : "custom range: not refreshing");
  }

  function addChart(def) {
    const figure = document.getElementById(`chart-${def.id}`);
    if (charts[def.id] && charts[def.id].plot) charts[def.id].plot.destroy();
    charts[def.id] = { def, figure, plot: null, window: null, keys: "", bands };
    figure.dataset.points = "";
    return charts[def.id];
  }

  const picker = B.rangePicker(() => {
    generation += 1;
    timer.restart();
    refreshAll();
  });
  const timer = B.liveTimer(refreshAll, cfg.refresh_seconds, picker.live);

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
    load(chart, picker.current()).catch(() => {});
  });

  B.resizeWith(charts);
  cfg.charts.filter((def) => def.present).forEach(addChart);
  refreshAll();
  timer.restart();
})();

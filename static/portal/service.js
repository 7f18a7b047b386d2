// Service page: the traffic chart (ingress/egress per interval, the range picker's window) and, per quota,
// the bytes used so far this period against the limit line, with the forecast to the period's end.
// Fed by /api/v1/services/<name>/bandwidth and /api/v1/quotas/ with the member's session (?org=); time
// bands (load-test runs, ...) from /o/<org>/chart-bands. Live: refreshed every refresh_seconds.
// Figures carry data-points, data-loads, data-bands, and for quota charts data-limit / data-quota-line
// (the limit drawn) and data-used (the last cumulative value), which the browser tests read.
(function () {
  "use strict";
  const B = window.BeaconCharts;
  const cfg = B.config();
  const charts = {};
  const quotas = new Map(cfg.quotas.map((q) => [q.id, { ...q }]));
  const BANDWIDTH = `/api/v1/services/${encodeURIComponent(cfg.service)}/bandwidth`;
  const LIMIT_COLOUR = "#a40e26";
  const FORECAST_COLOUR = "#57606a";
  let generation = 0;
  // A running total holds its value until the next interval's bytes arrive: steps, not slopes.
  const STEPPED = uPlot.paths.stepped({ align: 1 });

  // Decimal units, as bandwidth is billed (the server's bytes_human filter says the same).
  function bytesHuman(value) {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let amount = Number(value);
    for (const unit of units) {
      if (Math.abs(amount) < 1000 || unit === "PB") return unit === "B" ? `${amount.toFixed(0)} B` : `${amount.toFixed(1)} ${unit}`;
      amount /= 1000;
    }
    return `${amount.toFixed(1)} PB`;
  }

  // The bandwidth API answers one row per (direction, route, bucket); sum routes per bucket and direction.
  function perBucket(rows, directions) {
    const buckets = new Map();
    for (const row of rows) {
      if (!directions.includes(row.type)) continue;
      const t = Date.parse(row.time) / 1000;
      const entry = buckets.get(t) || {};
      if (row.bandwidth_used !== null) entry[row.type] = (entry[row.type] || 0) + row.bandwidth_used;
      buckets.set(t, entry);
    }
    return Array.from(buckets.entries()).sort((a, b) => a[0] - b[0]);
  }

  function chartFor(id, figureId, options) {
    const figure = document.getElementById(figureId);
    charts[id] = { id, figure, plot: null, window: null, bands: [], options };
    return charts[id];
  }

  function render(chart, data, series) {
    if (!chart.plot) {
      chart.plot = new uPlot(
        {
          width: B.plotWidth(chart.figure),
          height: 220,
          scales: {
            x: { time: true, range: () => chart.window },
            // Quota charts: from 0, with room above the limit line so it never sits on the frame.
            y: chart.limit ? { range: (u, min, max) => [0, Math.max(max, chart.limit) * 1.12] } : {},
          },
          plugins: [B.bandsPlugin(chart)],
          series: [{}, ...series],
          axes: [{}, { size: 64, values: (u, ticks) => ticks.map((v) => B.format(v, "")) }],
        },
        data,
        chart.figure.querySelector(".plot"),
      );
    } else {
      chart.plot.setData(data);
    }
    chart.figure.dataset.loads = String(Number(chart.figure.dataset.loads || 0) + 1);
  }

  async function loadTraffic(range, gen) {
    const chart = charts.traffic;
    const rows = await B.getJson(BANDWIDTH, { start: range.start, end: range.end }, cfg.org);
    if (gen !== generation) return;
    const buckets = perBucket(rows, ["ingress", "egress"]);
    const xs = buckets.map(([t]) => t);
    // An empty bucket is one where no byte was counted: drawn as 0, so sparse traffic still shows as spikes.
    const ingress = buckets.map(([, e]) => e.ingress || 0);
    const egress = buckets.map(([, e]) => e.egress || 0);
    const step = xs.length > 1 ? xs[1] - xs[0] : 60;
    chart.window = xs.length ? [xs[0], xs[xs.length - 1] + step] : chart.window;
    render(chart, [xs, ingress, egress], [
      { label: "ingress", stroke: B.COLOURS[0], width: 2, value: (u, v) => (v === null ? "–" : bytesHuman(v)) },
      { label: "egress", stroke: B.COLOURS[1], width: 2, value: (u, v) => (v === null ? "–" : bytesHuman(v)) },
    ]);
    const filled = buckets.filter(([, e]) => e.ingress !== undefined || e.egress !== undefined).length;
    const sum = (column) => column.reduce((a, v) => a + (v || 0), 0);
    chart.figure.dataset.points = String(filled);
    chart.figure.dataset.ingress = String(sum(ingress));
    chart.figure.dataset.egress = String(sum(egress));
    chart.figure.querySelector(".chart-summary").textContent = filled
      ? `${filled} intervals of ${B.stepText(step)} with traffic; in this range ${bytesHuman(sum(ingress))} in, ${bytesHuman(sum(egress))} out.`
      : "No traffic in this range.";
  }

  // Cumulative bytes from the period's start, the limit as a flat line, the forecast from now to the end.
  async function loadQuota(quota, gen) {
    const chart = charts[`quota-${quota.id}`];
    const now = Date.now() / 1000;
    const start = Date.parse(quota.period_start) / 1000;
    const end = Date.parse(quota.period_end) / 1000;
    const params = { start: quota.period_start, end: new Date(Math.min(now, end) * 1000).toISOString() };
    if (quota.direction !== "total") params.direction = quota.direction;
    const rows = await B.getJson(BANDWIDTH, params, cfg.org);
    if (gen !== generation) return;
    const directions = quota.direction === "total" ? ["ingress", "egress"] : [quota.direction];
    let total = 0;
    const xs = [start];
    const used = [0];
    for (const [t, entry] of perBucket(rows, directions)) {
      const bytes = directions.reduce((a, d) => a + (entry[d] || 0), 0);
      if (!bytes || t < start) continue;
      total += bytes;
      xs.push(Math.max(t, start));
      used.push(total);
    }
    // The forecast runs at the last 24 h's rate from the last count to where it meets the limit, or to the
    // period's end if it does not: past the limit it would only squash the chart.
    const lastX = xs[xs.length - 1];
    const forecast = xs.map(() => null);
    const rate = quota.rate_bytes_per_second;
    let projected = null;
    let reaches = null;
    if (rate && lastX < end) {
      const remaining = quota.limit_bytes - total;
      reaches = remaining > 0 && lastX + remaining / rate < end ? lastX + remaining / rate : null;
      const until = reaches || end;
      projected = total + rate * (until - lastX);
      forecast[forecast.length - 1] = total;
      xs.push(until);
      used.push(null);
      forecast.push(projected);
    }
    if (xs[xs.length - 1] < end) {
      xs.push(end); // the limit line spans the whole period
      used.push(null);
      forecast.push(null);
    }
    const limit = xs.map(() => quota.limit_bytes);
    chart.window = [start, end];
    chart.limit = quota.limit_bytes;
    render(chart, [xs, used, limit, forecast], [
      { label: "used", stroke: B.COLOURS[0], width: 2, fill: "rgba(11, 92, 173, 0.08)", paths: STEPPED, value: (u, v) => (v === null ? "–" : bytesHuman(v)) },
      { label: "limit", stroke: LIMIT_COLOUR, width: 2, points: { show: false }, value: (u, v) => (v === null ? "–" : bytesHuman(v)) },
      { label: "forecast", stroke: FORECAST_COLOUR, width: 2, dash: [6, 4], spanGaps: true, points: { show: false }, value: (u, v) => (v === null ? "–" : bytesHuman(v)) },
    ]);
    chart.figure.dataset.points = String(xs.length);
    chart.figure.dataset.used = String(total);
    chart.figure.dataset.forecast = projected === null ? "" : String(Math.round(projected));
    chart.figure.dataset.limit = String(quota.limit_bytes);
    chart.figure.dataset.quotaLine = chart.plot.data[2].every((v) => v === quota.limit_bytes) ? String(quota.limit_bytes) : "";
    let at = "no forecast (no traffic in the last 24 h)";
    if (reaches) at = `at the last 24 h's rate the limit is reached ${new Date(reaches * 1000).toLocaleString()}`;
    else if (projected !== null) at = `forecast at the period's end ${bytesHuman(projected)}`;
    chart.figure.querySelector(".chart-summary").textContent =
      `${bytesHuman(total)} counted this period of a ${bytesHuman(quota.limit_bytes)} limit; ${at}.`;
  }

  // The bars rendered by the server follow the quota API (the same figures) on every refresh.
  async function refreshQuotas() {
    if (!quotas.size) return;
    const answer = await B.getJson("/api/v1/quotas/", {}, cfg.org);
    for (const row of answer) {
      const quota = quotas.get(row.id);
      if (!quota) continue;
      quota.used_bytes = row.used_bytes;
      quota.rate_bytes_per_second = row.forecast ? row.forecast.rate_bytes_per_second : null;
      quota.period_start = row.period_start;
      quota.period_end = row.period_end;
      const box = document.querySelector(`[data-quota="${row.id}"]`);
      if (!box) continue;
      const percent = Math.round(row.usage_percent * 10) / 10;
      const shown = percent.toFixed(1);
      const crossed = quota.thresholds.filter((t) => percent >= t).sort((a, b) => a - b);
      const lowest = Math.min(...quota.thresholds);
      const level = percent >= 100 ? "over" : percent >= lowest ? "warn" : "ok";
      box.classList.remove("quota-ok", "quota-warn", "quota-over");
      box.classList.add(`quota-${level}`);
      box.dataset.used = String(row.used_bytes);
      box.dataset.percent = shown;
      const figures = box.querySelector(".quota-figures");
      const note = level === "over" ? ", over the limit" : level === "warn" ? `, past ${crossed[crossed.length - 1]} %` : "";
      figures.replaceChildren();
      const strong = document.createElement("strong");
      strong.textContent = bytesHuman(row.used_bytes);
      const pct = document.createElement("span");
      pct.className = "quota-percent";
      pct.textContent = `${shown} %`;
      figures.append(strong, ` of ${bytesHuman(row.limit_bytes)} (`, pct, `${note})`);
      const bar = box.querySelector(".bar");
      bar.setAttribute("aria-valuenow", Math.min(100, percent).toFixed(1));
      bar.setAttribute("aria-label", `${row.direction} quota used: ${shown} %`);
      box.querySelector(".bar-fill").style.width = `${Math.min(100, percent)}%`;
    }
  }

  async function refreshBands(range) {
    const main = await B.loadBands(cfg.org, range.start, range.end);
    B.showBandsLegend(main);
    charts.traffic.bands = main;
    if (charts.traffic.plot) charts.traffic.plot.redraw(false);
    // Each quota chart spans its own period: its bands are asked for that window.
    await Promise.all(
      Array.from(quotas.values()).map(async (quota) => {
        const chart = charts[`quota-${quota.id}`];
        chart.bands = await B.loadBands(cfg.org, quota.period_start, quota.period_end);
        if (chart.plot) chart.plot.redraw(false);
      }),
    );
  }

  async function refreshAll() {
    const gen = generation;
    const range = picker.current();
    const first = await Promise.allSettled([refreshQuotas()]);
    const jobs = [loadTraffic(range, gen), ...Array.from(quotas.values()).map((q) => loadQuota(q, gen))];
    const results = await Promise.allSettled(jobs);
    const banded = await Promise.allSettled([refreshBands(range)]);
    if (gen !== generation) return;
    B.reportStatus([...first, ...results, ...banded], picker.live() ? `live, every ${cfg.refresh_seconds} s` : "custom range: not refreshing");
  }

  chartFor("traffic", "chart-traffic");
  for (const quota of quotas.values()) chartFor(`quota-${quota.id}`, `chart-quota-${quota.id}`);
  const picker = B.rangePicker(() => {
    generation += 1;
    timer.restart();
    refreshAll();
  });
  const timer = B.liveTimer(refreshAll, cfg.refresh_seconds, picker.live);
  B.resizeWith(charts);
  refreshAll();
  timer.restart();
})();

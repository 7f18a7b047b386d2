// Load-test run page: rps, latency and users charts (uPlot) from /api/v1/loadtests/<uuid> through the member's
// session (?org=<slug>), refreshed while the run is running. Each <figure> carries data-points (timestamps
// drawn) and data-loads (draws so far), which the browser test reads.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("page-config").textContent);
  const COLOURS = ["#0b5cad", "#b54708", "#18794e", "#7a2e9a"]; // >= 4.5:1 on white
  const CHARTS = [
    { id: "rps", fields: ["rps", "fail_rps"], unit: "/s" },
    { id: "latency", fields: ["p50", "p95", "p99"], unit: "ms" },
    { id: "users", fields: ["users"], unit: "" },
  ];
  const status = document.getElementById("live-status");
  const plots = {};
  let timer = null;

  function format(value, unit) {
    if (value === null || value === undefined) return "–";
    const text = Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
    return unit ? `${text} ${unit}` : text;
  }

  function draw(def, row) {
    const figure = document.getElementById(`chart-${def.id}`);
    const xs = row ? row.time.map((t) => Date.parse(t) / 1000) : [];
    const data = [xs, ...def.fields.map((f) => (row ? row[f] : []))];
    if (!plots[def.id]) {
      const el = figure.querySelector(".plot");
      plots[def.id] = new uPlot(
        {
          width: Math.max(260, el.clientWidth || 600),
          height: 200,
          scales: { x: { time: true } },
          series: [
            {},
            ...def.fields.map((field, i) => ({
              label: field,
              stroke: COLOURS[i % COLOURS.length],
              width: 2,
              points: { show: true, size: 4 },
              value: (u, v) => format(v, def.unit),
            })),
          ],
          axes: [{}, { size: 60 }],
        },
        data,
        el,
      );
    } else {
      plots[def.id].setData(data);
    }
    figure.dataset.points = String(xs.length);
    figure.dataset.loads = String(Number(figure.dataset.loads || 0) + 1);
    const last = xs.length - 1;
    figure.querySelector(".chart-summary").textContent = xs.length
      ? `${xs.length} points; latest: ${def.fields.map((f, i) => `${f} ${format(data[i + 1][last], def.unit)}`).join(", ")}`
      : "No stats reported.";
  }

  async function refresh() {
    try {
      const response = await fetch(`/api/v1/loadtests/${cfg.run}?org=${encodeURIComponent(cfg.org)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new Error((body && body.message) || `HTTP ${response.status}`);
      const total = body.series.find((s) => s.name === "Aggregated" && !s.method) || null;
      CHARTS.forEach((def) => draw(def, total));
      const running = body.state === "running";
      status.textContent = `Updated ${new Date().toLocaleTimeString()} (${running ? `live, every ${cfg.refresh_seconds} s` : body.state})`;
      if (!running && timer) {
        clearInterval(timer);
        timer = null;
      }
    } catch (error) {
      status.textContent = `Could not load the run's stats: ${error.message}`;
    }
  }

  window.addEventListener("resize", () => {
    for (const id of Object.keys(plots)) {
      const el = document.getElementById(`chart-${id}`).querySelector(".plot");
      plots[id].setSize({ width: Math.max(260, el.clientWidth), height: 200 });
    }
  });
  refresh();
  if (cfg.running) timer = setInterval(refresh, cfg.refresh_seconds * 1000);
})();

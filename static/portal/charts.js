// What every page with charts shares (device page, service page, and later apps' pages):
// the API call with the member's session and ?org=, value formatting, the range picker, live refresh,
// and the time bands (settings.CHART_BANDS, e.g. load-test runs) drawn behind a uPlot chart.
// Pages: window.BeaconCharts.* ; see docs/portal.md, "Charts".
(function () {
  "use strict";
  const COLOURS = ["#0b5cad", "#b54708", "#18794e", "#7a2e9a", "#a40e26", "#005f73", "#6e5400", "#3f4a56"]; // >= 4.5:1 on white
  const RELATIVE = { "1h": "-1h", "24h": "-24h", "7d": "-7d", "30d": "-30d" };
  const BAND_FILL = "rgba(122, 46, 154, 0.13)";
  const BAND_EDGE = "rgba(122, 46, 154, 0.55)";
  const BAND_TEXT = "#5b1f74";

  function config() {
    return JSON.parse(document.getElementById("page-config").textContent);
  }

  async function getJson(path, params, org) {
    const query = new URLSearchParams(params || {});
    if (org) query.set("org", org);
    const response = await fetch(`${path}?${query}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && body.message) || `HTTP ${response.status}`);
    return body;
  }

  // Every row of a paginated list endpoint ({next, previous, results}; docs/api.md "Pagination"): follows
  // `next` (which keeps the org and page size) until the last page.
  async function getAll(path, params, org) {
    let answer = await getJson(path, { page_size: "1000", ...(params || {}) }, org);
    const rows = [...answer.results];
    while (answer.next) {
      const next = new URL(answer.next, window.location.origin);
      answer = await getJson(next.pathname, Object.fromEntries(next.searchParams), org);
      rows.push(...answer.results);
    }
    return rows;
  }

  // 12.34, 567, 12.3k, 4.5M, 6.7G: short enough for the axis at phone width.
  function format(value, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const size = Math.abs(value);
    let text;
    if (size >= 1e12) text = `${(value / 1e12).toFixed(1)}T`;
    else if (size >= 1e9) text = `${(value / 1e9).toFixed(1)}G`;
    else if (size >= 1e6) text = `${(value / 1e6).toFixed(1)}M`;
    else if (size >= 1e4) text = `${(value / 1e3).toFixed(1)}k`;
    else text = size >= 100 ? value.toFixed(0) : value.toFixed(2);
    return unit ? `${text} ${unit}` : text;
  }

  function stepText(seconds) {
    if (seconds >= 86400) return `${seconds / 86400} d`;
    if (seconds >= 3600) return `${seconds / 3600} h`;
    if (seconds >= 60) return `${seconds / 60} min`;
    return `${seconds} s`;
  }

  // --- Bands -------------------------------------------------------------------------------------
  // A chart holds `chart.bands` ([{s0, s1, label, url}], epoch seconds); this plugin paints them under
  // the series and records how many it drew in the figure's data-bands (read by the browser tests).
  function bandsPlugin(chart) {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const bands = chart.bands || [];
            const { left, top, width, height } = u.bbox;
            const min = u.scales.x.min;
            const max = u.scales.x.max;
            const ratio = window.devicePixelRatio || 1;
            const ctx = u.ctx;
            let drawn = 0;
            const rows = []; // per label row, the right edge of its last label: labels never overprint
            ctx.save();
            ctx.beginPath();
            ctx.rect(left, top, width, height);
            ctx.clip();
            for (const band of bands) {
              if (band.s1 < min || band.s0 > max) continue;
              const x0 = u.valToPos(Math.max(band.s0, min), "x", true);
              const x1 = u.valToPos(Math.min(band.s1, max), "x", true);
              ctx.fillStyle = BAND_FILL;
              ctx.fillRect(x0, top, Math.max(2 * ratio, x1 - x0), height);
              ctx.fillStyle = BAND_EDGE;
              ctx.fillRect(x0, top, ratio, height);
              if (band.label) {
                ctx.fillStyle = BAND_TEXT;
                ctx.font = `${12 * ratio}px system-ui, sans-serif`;
                // Inside the plot even for a band at its right edge (a run still going).
                const textWidth = ctx.measureText(band.label).width;
                const room = left + width - textWidth - 4 * ratio;
                const x = Math.max(left + 2 * ratio, Math.min(x0 + 4 * ratio, room));
                // The first row this label fits in; past three rows it is left out (the list under the
                // range picker names every band).
                let row = rows.findIndex((end) => end + 6 * ratio <= x);
                if (row < 0 && rows.length < 3) row = rows.push(0) - 1;
                if (row >= 0) {
                  rows[row] = x + textWidth;
                  ctx.fillText(band.label, x, top + 14 * ratio * (row + 1));
                }
              }
              drawn += 1;
            }
            ctx.restore();
            chart.figure.dataset.bands = String(drawn);
          },
        ],
      },
    };
  }

  // `device` (a slug): a device page's charts, whose bands are that device's own (its firing alerts).
  async function loadBands(org, start, end, device) {
    const params = device ? { start, end, device } : { start, end };
    const answer = await getJson(`/o/${encodeURIComponent(org)}/chart-bands`, params);
    return answer.bands.map((band) => ({
      ...band,
      s0: Date.parse(band.start) / 1000,
      s1: Date.parse(band.end) / 1000,
    }));
  }

  // The bands as text under the range picker: what the shading means, with links, for every reader.
  function showBandsLegend(bands) {
    const box = document.getElementById("bands-legend");
    if (!box) return;
    box.hidden = bands.length === 0;
    box.replaceChildren();
    if (!bands.length) return;
    const title = document.createElement("p");
    title.className = "bands-title";
    title.innerHTML = '<span class="band-swatch" aria-hidden="true"></span> Shaded on the charts:';
    const list = document.createElement("ul");
    for (const band of bands) {
      const item = document.createElement("li");
      const name = band.url ? document.createElement("a") : document.createElement("span");
      if (band.url) name.href = band.url;
      name.textContent = band.label || "band";
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = ` ${new Date(band.s0 * 1000).toLocaleString()} – ${new Date(band.s1 * 1000).toLocaleTimeString()}`;
      item.append(name, when);
      list.append(item);
    }
    box.append(title, list);
  }

  // --- Range picker and live refresh ---------------------------------------------------------------
  // `onChange(range)` runs on every new range; `range` is {key, start, end} in the API's time forms.
  function rangePicker(onChange) {
    let range = { key: "1h", start: "-1h", end: "now" };
    const status = document.getElementById("live-status");
    const customBox = document.getElementById("custom-range");
    const customStart = document.getElementById("custom-start");
    const customEnd = document.getElementById("custom-end");
    function localInput(date) {
      const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
      return shifted.toISOString().slice(0, 16);
    }
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
        onChange(range);
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
      onChange(range);
    });
    return {
      current: () => range,
      live: () => Boolean(RELATIVE[range.key]),
    };
  }

  // Runs `refresh` every `seconds` while `isLive()`; `restart()` after a range change. A tick that finds
  // the previous refresh still running is skipped: on a slow server refreshes must not pile up.
  function liveTimer(refresh, seconds, isLive) {
    let timer = null;
    let busy = false;
    async function tick() {
      if (busy) return;
      busy = true;
      try {
        await refresh();
      } finally {
        busy = false;
      }
    }
    return {
      restart() {
        if (timer) clearInterval(timer);
        timer = isLive() ? setInterval(tick, seconds * 1000) : null;
      },
    };
  }

  function reportStatus(results, liveText) {
    const status = document.getElementById("live-status");
    const failed = results.filter((r) => r.status === "rejected");
    const now = new Date().toLocaleTimeString();
    status.textContent = failed.length
      ? `Updated ${now} with errors: ${failed[0].reason.message}`
      : `Updated ${now} (${liveText})`;
  }

  function plotWidth(figure) {
    const el = figure.querySelector(".plot");
    return Math.max(260, el.clientWidth || 600);
  }

  // Keep every chart as wide as its box when the window (or the phone) turns.
  function resizeWith(charts) {
    window.addEventListener("resize", () => {
      for (const chart of Object.values(charts)) {
        if (chart.plot) chart.plot.setSize({ width: plotWidth(chart.figure), height: chart.plot.height });
      }
    });
  }

  window.BeaconCharts = {
    COLOURS,
    RELATIVE,
    config,
    getJson,
    getAll,
    format,
    stepText,
    bandsPlugin,
    loadBands,
    showBandsLegend,
    rangePicker,
    liveTimer,
    reportStatus,
    plotWidth,
    resizeWith,
  };
})();

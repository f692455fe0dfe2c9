// btl report: draws the chart from the JSON in #btl-data with lightweight-charts.
// Time on the chart is the slot index (0, 1, 2, ...); labels come from D.time.
(function () {
  'use strict';
  var status = document.getElementById('btl-status');
  function fail(msg) {
    console.error('btl report: ' + msg);
    status.dataset.state = 'error';
    status.textContent = 'The chart failed: ' + msg;
  }
  window.addEventListener('error', function (e) { fail(e.message || String(e)); });
  window.addEventListener('unhandledrejection', function (e) { fail(String(e.reason)); });

  function main() {
    const D = JSON.parse(document.getElementById('btl-data').textContent);
    const LC = window.LightweightCharts;
    if (!LC) throw new Error('lightweight-charts is missing');
    const el = document.getElementById('btl-chart');
    if (D.candles === 0) {
      el.style.height = '0';
      status.dataset.state = 'ok';
      status.textContent = 'No bars: nothing to chart.';
      return;
    }
    const PALETTE = ['#2962ff', '#ff6d00', '#9c27b0', '#00897b', '#e91e63', '#795548',
      '#3f51b5', '#827717', '#00acc1', '#6d4c41'];
    const label = (t) => (D.time[t] !== undefined ? D.time[t] : '');
    // Tick labels: dates, or times of day when the visible range lies within a day or two.
    const intraday = D.time.some((s) => s.length > 10);
    let zoomedIn = false;
    const tick = (t) => {
      const s = label(t);
      return intraday && zoomedIn ? s.slice(11, 16) : s.slice(0, 10);
    };
    const present = (v) => v !== null && v !== undefined;
    function priceFormat(values) {
      let m = 0;
      for (const v of values) if (present(v) && Math.abs(v) > m) m = Math.abs(v);
      const p = m > 0 ? Math.max(2, Math.min(8, 3 - Math.floor(Math.log10(m)))) : 2;
      return { type: 'price', precision: p, minMove: Math.pow(10, -p) };
    }
    const points = (vals) => vals.map((v, t) => (present(v) ? { time: t, value: v } : { time: t }));
    const n = D.candles;
    const own = D.series.filter((s) => !s.overlay);
    const hasVolume = D.volume.slice(0, n).some((v) => v > 0);
    const panes = 1 + (hasVolume ? 1 : 0) + own.length + 2;
    el.style.height = (400 + 140 * (panes - 1)) + 'px';

    const chart = LC.createChart(el, {
      autoSize: true,
      layout: {
        background: { type: 'solid', color: '#ffffff' },
        textColor: '#1f2328',
        fontSize: 11,
        attributionLogo: true,
        panes: { separatorColor: '#d0d7de', enableResize: true },
      },
      grid: { vertLines: { color: '#f2f4f6' }, horzLines: { color: '#f2f4f6' } },
      localization: { timeFormatter: label },
      timeScale: {
        tickMarkFormatter: tick, tickMarkMaxCharacterLength: 10, borderColor: '#d0d7de',
        rightOffset: 3, minBarSpacing: 0.01,
      },
      rightPriceScale: { borderColor: '#d0d7de' },
      crosshair: { mode: LC.CrosshairMode.Normal },
    });
    const paneLabel = (i, text) => LC.createTextWatermark(chart.panes()[i], {
      horzAlign: 'left',
      vertAlign: 'top',
      lines: [{ text: text, color: 'rgba(31, 35, 40, 0.45)', fontSize: 12 }],
    });

    // Price: candles and overlays; volume in the pane below.
    const priceFmt = priceFormat(D.high.slice(0, n));
    const candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: '#26a69a', downColor: '#ef5350', borderVisible: false,
      wickUpColor: '#26a69a', wickDownColor: '#ef5350', priceFormat: priceFmt,
    }, 0);
    const bars = [];
    for (let t = 0; t < n; t++) {
      bars.push({ time: t, open: D.open[t], high: D.high[t], low: D.low[t], close: D.close[t] });
    }
    candles.setData(bars);
    paneLabel(0, D.strategy);
    let pane = 1;
    if (hasVolume) {
      const volume = chart.addSeries(LC.HistogramSeries, {
        priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false,
      }, pane);
      volume.setData(D.volume.slice(0, n).map((v, t) => ({
        time: t, value: v,
        color: D.close[t] >= D.open[t] ? 'rgba(38, 166, 154, 0.6)' : 'rgba(239, 83, 80, 0.6)',
      })));
      paneLabel(pane, D.bucket > 1 ? 'volume (per ' + D.bucket + ' bars)' : 'volume');
      pane++;
    }

    // Plot series: overlays on the price pane, the others in a pane each.
    const legendLines = [];
    D.series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const p = s.overlay ? 0 : pane++;
      const series = chart.addSeries(LC.LineSeries, {
        color: color, lineWidth: 2, title: s.name, priceLineVisible: false,
        crosshairMarkerVisible: false,
        priceFormat: s.overlay ? priceFmt : priceFormat(s.values),
      }, p);
      series.setData(points(s.values));
      if (!s.overlay) paneLabel(p, s.name);
      legendLines.push({ name: s.name, color: color, values: s.values, fmt: s.overlay ? priceFmt : priceFormat(s.values) });
    });

    // Equity and drawdown.
    const equityPane = pane++;
    const drawdownPane = pane++;
    const money = { type: 'price', precision: 2, minMove: 0.01 };
    const equity = chart.addSeries(LC.LineSeries, {
      color: '#0969da', lineWidth: 2, title: 'equity', priceLineVisible: false, priceFormat: money,
    }, equityPane);
    equity.setData(points(D.equity));
    paneLabel(equityPane, 'equity');
    const ddPct = D.drawdown.map((v) => (present(v) ? v * 100 : null));
    const drawdown = chart.addSeries(LC.BaselineSeries, {
      baseValue: { type: 'price', price: 0 },
      topLineColor: 'rgba(0, 0, 0, 0)', topFillColor1: 'rgba(0, 0, 0, 0)', topFillColor2: 'rgba(0, 0, 0, 0)',
      bottomLineColor: '#cf222e', bottomFillColor1: 'rgba(207, 34, 46, 0.08)',
      bottomFillColor2: 'rgba(207, 34, 46, 0.4)', lineWidth: 1, title: 'drawdown %',
      priceLineVisible: false, priceFormat: money,
    }, drawdownPane);
    drawdown.setData(points(ddPct));
    paneLabel(drawdownPane, 'drawdown %');
    const all = chart.panes();
    all[0].setStretchFactor(3);
    for (let i = 1; i < all.length; i++) all[i].setStretchFactor(i === 1 && hasVolume ? 0.6 : 1);

    // Fills: one marker per slot and side.
    const M = D.markers;
    const withText = M.slot.length <= 60;
    const markerSize = M.slot.length <= 200 ? 1 : M.slot.length <= 800 ? 0.6 : 0.35;
    const qty = (x) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
    const markers = [];
    const fillsAt = new Map();
    for (let i = 0; i < M.slot.length; i++) {
      const buy = M.side[i] > 0;
      const text = (buy ? 'B ' : 'S ') + qty(Math.abs(M.size[i]));
      markers.push({
        time: M.slot[i], position: buy ? 'belowBar' : 'aboveBar',
        shape: buy ? 'arrowUp' : 'arrowDown', color: buy ? '#1a7f37' : '#cf222e',
        text: withText ? text : '', size: markerSize,
      });
      const at = fillsAt.get(M.slot[i]) || [];
      at.push(text + ' @ ' + M.price[i].toFixed(priceFmt.precision) +
        (M.count[i] > 1 ? ' (' + M.count[i] + ' fills)' : ''));
      fillsAt.set(M.slot[i], at);
    }
    LC.createSeriesMarkers(candles, markers);

    // The legend follows the crosshair.
    const legend = document.getElementById('btl-legend');
    const num = (v, f) => (present(v) ? v.toFixed(f.precision) : '—');
    function item(text, color) {
      if (color) {
        const sw = document.createElement('span');
        sw.className = 'btl-sw';
        sw.style.background = color;
        legend.appendChild(sw);
      }
      legend.appendChild(document.createTextNode(text));
    }
    function showLegend(t) {
      if (t === undefined || t === null || t >= D.time.length) t = n - 1;
      legend.textContent = '';
      item(label(t) + (D.bucket > 1 ? ' (' + D.bucket + ' bars)' : ''));
      if (t < n) {
        item('  O ' + num(D.open[t], priceFmt) + ' H ' + num(D.high[t], priceFmt) +
          ' L ' + num(D.low[t], priceFmt) + ' C ' + num(D.close[t], priceFmt) +
          ' V ' + (present(D.volume[t]) ? Math.round(D.volume[t]) : '—'));
      }
      for (const l of legendLines) item(l.name + ' ' + num(l.values[t], l.fmt), l.color);
      item('equity ' + num(D.equity[t], money), '#0969da');
      item('drawdown ' + num(ddPct[t], money) + '%', '#cf222e');
      const f = fillsAt.get(t);
      if (f) item('  fills: ' + f.join(', '));
    }
    chart.subscribeCrosshairMove((param) => showLegend(param.time));
    if (intraday) {
      chart.timeScale().subscribeVisibleLogicalRangeChange((r) => {
        if (!r) return;
        const a = label(Math.max(0, Math.floor(r.from)));
        const b = label(Math.min(D.time.length - 1, Math.ceil(r.to)));
        const days = (Date.parse(b.slice(0, 10)) - Date.parse(a.slice(0, 10))) / 86400000;
        zoomedIn = days <= 2;
      });
    }
    showLegend();
    chart.timeScale().fitContent();

    // Done once the chart has drawn.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (status.dataset.state === 'error') return;
      if (el.querySelectorAll('canvas').length === 0) {
        fail('no canvas was drawn');
        return;
      }
      // Offline: the page loads nothing.
      const loaded = performance.getEntriesByType('resource').map((r) => r.name);
      if (loaded.length > 0) {
        fail('the page loaded ' + loaded.join(', '));
        return;
      }
      status.dataset.state = 'ok';
      status.textContent = 'Rendered ' + n + ' candles, ' + D.series.length + ' plot series, ' +
        markers.length + ' markers (' + D.bars + ' bars, ' + D.trades + ' closed trades).';
    }));
  }

  try {
    main();
  } catch (e) {
    fail(e && e.stack ? e.stack : String(e));
  }
})();

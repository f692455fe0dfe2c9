// btl report: draws the chart from the JSON in #btl-data with lightweight-charts, then the
// returns by month and the list of trades below it.
// Time on the chart is the slot index (0, 1, 2, ...); labels come from D.time.
// Fields added after format 1 (initial_cash, buy_hold, periods, hlines, levels, trade_list,
// trade_list_total, markers.reason) are optional: a page without them draws what it has.
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

  const present = (v) => v !== null && v !== undefined && !Number.isNaN(v);
  const isArr = Array.isArray;
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // DOM helper: h('td', {className: 'x', title: 'y'}, 'text' | node | [...])
  function h(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        if (k === 'dataset') Object.assign(e.dataset, props[k]);
        else if (k === 'style') Object.assign(e.style, props[k]);
        else e[k] = props[k];
      }
    }
    if (children !== undefined && children !== null) {
      for (const c of isArr(children) ? children : [children]) {
        if (c === null || c === undefined) continue;
        e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
      }
    }
    return e;
  }

  const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const money2 = (v) => (isNum(v) ? nf2.format(v) : '—');
  const signed2 = (v) => (isNum(v) ? (v > 0 ? '+' : '') + nf2.format(v) : '—');
  // A fraction as a signed percentage; what rounds to zero has no sign.
  const pct = (f, d) => {
    if (!isNum(f)) return 'n/a';
    const s = (f * 100).toFixed(d === undefined ? 2 : d);
    return (/[1-9]/.test(s) ? (f > 0 ? '+' : '') + s : s.replace('-', '')) + '%';
  };
  const qty = (x) => (!isNum(x) ? '—' : Number.isInteger(x) ? String(x) : String(+x.toPrecision(6)));

  // Short marker labels for what closed a position.
  function exitLabel(reason) {
    const r = String(reason).toLowerCase();
    if (r.indexOf('trail') >= 0) return 'trail';
    if (r.indexOf('stop') >= 0) return 'stop';
    if (r.indexOf('target') >= 0 || r.indexOf('profit') >= 0) return 'target';
    if (r.indexOf('limit') >= 0) return 'limit';
    return 'exit';
  }

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
    const STOP = '#cf222e';
    const TARGET = '#1a7f37';
    const BENCH = '#8c959f';
    const slots = D.time.length;
    const label = (t) => (D.time[t] !== undefined ? D.time[t] : '');
    // Tick labels: dates, or for bars within a day, month-day and time of day when the visible
    // range spans a few days at most.
    const intraday = D.time.some((s) => s.length > 10);
    let zoomedIn = false;
    const tick = (t) => {
      const s = label(t);
      return intraday && zoomedIn ? s.slice(5, 16) : s.slice(0, 10);
    };
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
      // fixLeftEdge/fixRightEdge keep the first and last tick labels inside the time axis.
      timeScale: {
        tickMarkFormatter: tick, tickMarkMaxCharacterLength: 10, borderColor: '#d0d7de',
        rightOffset: 0, minBarSpacing: 0.01, fixLeftEdge: true, fixRightEdge: true,
        lockVisibleTimeRangeOnResize: true,
        allowBoldLabels: false, // the slot index's "seconds" say nothing about the dates
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

    // Horizontal levels by the plot name they belong to (null: the price pane).
    const hlines = isArr(D.hlines) ? D.hlines.filter((l) => l && isNum(l.value)) : [];
    const levelsOf = (name) => hlines.filter((l) => (l.series === undefined ? null : l.series) === name);

    // Plot series: overlays on the price pane, the others in a pane each. Only the candles show
    // their last value on the price pane's scale (overlay labels would pile onto each other);
    // a series in its own pane keeps its label there.
    const legendLines = [];
    const seriesByName = new Map();
    D.series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const p = s.overlay ? 0 : pane++;
      const fmt = s.overlay ? priceFmt : priceFormat(s.values);
      const lv = levelsOf(s.name).map((l) => l.value);
      const series = chart.addSeries(LC.LineSeries, {
        color: color, lineWidth: 2, title: s.overlay ? '' : s.name, priceLineVisible: false,
        lastValueVisible: !s.overlay, crosshairMarkerVisible: false, priceFormat: fmt,
        // An oscillator's levels stay in view.
        autoscaleInfoProvider: lv.length && !s.overlay ? (base) => {
          const r = base();
          if (!r || !r.priceRange) return r;
          return {
            priceRange: {
              minValue: Math.min(r.priceRange.minValue, ...lv),
              maxValue: Math.max(r.priceRange.maxValue, ...lv),
            },
            margins: r.margins,
          };
        } : undefined,
      }, p);
      series.setData(points(s.values));
      if (!s.overlay) paneLabel(p, s.name);
      if (!seriesByName.has(s.name)) seriesByName.set(s.name, { series: series, fmt: fmt });
      legendLines.push({ name: s.name, color: color, values: s.values, fmt: fmt });
    });
    for (const l of hlines) {
      const name = l.series === undefined ? null : l.series;
      const target = name === null ? { series: candles, fmt: priceFmt } : seriesByName.get(name);
      if (!target) continue;
      target.series.createPriceLine({
        price: l.value, color: BENCH, lineWidth: 1, lineStyle: LC.LineStyle.Dashed,
        // the value on the axis (a title would repeat it beside the label)
        axisLabelVisible: true, axisLabelColor: '#eaeef2', axisLabelTextColor: '#57606a', title: '',
      });
    }

    // Pending protective stop and take-profit: step lines on the price pane, gaps where none.
    const levels = D.levels && typeof D.levels === 'object' ? D.levels : {};
    const levelLines = [];
    for (const [key, color, name] of [['stop', STOP, 'stop'], ['target', TARGET, 'target']]) {
      const vals = isArr(levels[key]) ? levels[key].slice(0, slots) : null;
      if (!vals || !vals.some(present)) continue;
      const series = chart.addSeries(LC.LineSeries, {
        color: color, lineWidth: 1, lineType: LC.LineType.WithSteps,
        lineStyle: LC.LineStyle.Solid, priceLineVisible: false, lastValueVisible: false,
        crosshairMarkerVisible: false, priceFormat: priceFmt,
      }, 0);
      // Lines cannot have gaps: the slot before a level starts and the slot after it ends get
      // transparent points (a step's horizontal takes the colour of the point it starts from,
      // its vertical that of the point it ends at), so nothing is drawn between two levels and
      // a level is drawn on through the slot in which it ended.
      const pts = vals.map((v, t) => {
        if (present(v)) return { time: t, value: v };
        if (present(vals[t + 1])) return { time: t, value: vals[t + 1], color: 'transparent' };
        if (present(vals[t - 1])) return { time: t, value: vals[t - 1], color: 'transparent' };
        return { time: t };
      });
      series.setData(pts);
      levelLines.push({ name: name, color: color, values: vals });
    }

    // Equity (with buy and hold) and drawdown.
    const equityPane = pane++;
    const drawdownPane = pane++;
    const money = { type: 'price', precision: 2, minMove: 0.01 };
    const cash = isNum(D.initial_cash) ? D.initial_cash
      : D.summary && isNum(D.summary.initial_cash) ? D.summary.initial_cash : null;
    const bh = D.buy_hold && typeof D.buy_hold === 'object' ? D.buy_hold : null;
    let bench = null;
    if (bh && isNum(bh.first_close) && bh.first_close !== 0 && isNum(cash)) {
      bench = D.close.slice(0, n).map((c) => (present(c) ? cash * c / bh.first_close : null));
      chart.addSeries(LC.LineSeries, {
        color: BENCH, lineWidth: 1, lineStyle: LC.LineStyle.Dashed,
        priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false,
        priceFormat: money,
      }, equityPane).setData(points(bench));
    }
    const benchReturn = bh && isNum(bh.return) ? bh.return
      : bench ? bench[bench.length - 1] / cash - 1 : null;
    const equity = chart.addSeries(LC.LineSeries, {
      color: '#0969da', lineWidth: 2, title: 'equity', priceLineVisible: false, priceFormat: money,
    }, equityPane);
    equity.setData(points(D.equity));
    paneLabel(equityPane, bench ? 'equity   - - buy & hold' : 'equity');
    const ddPct = D.drawdown.map((v) => (present(v) ? v * 100 : null));
    const drawdown = chart.addSeries(LC.BaselineSeries, {
      baseValue: { type: 'price', price: 0 },
      topLineColor: '#cf222e', topFillColor1: 'rgba(0, 0, 0, 0)', topFillColor2: 'rgba(0, 0, 0, 0)',
      bottomLineColor: '#cf222e', bottomFillColor1: 'rgba(207, 34, 46, 0.08)',
      bottomFillColor2: 'rgba(207, 34, 46, 0.4)', lineWidth: 1, title: 'drawdown %',
      priceLineVisible: false, priceFormat: money,
    }, drawdownPane);
    drawdown.setData(points(ddPct));
    paneLabel(drawdownPane, 'drawdown %');
    const all = chart.panes();
    all[0].setStretchFactor(3);
    for (let i = 1; i < all.length; i++) all[i].setStretchFactor(i === 1 && hasVolume ? 0.6 : 1);

    // Fills: one marker per slot and side (buys below the bar, sells above). Texts and the
    // grouping of close markers are laid out again whenever the visible range changes.
    const M = D.markers;
    const reasons = isArr(M.reason) ? M.reason : [];
    const base = [];
    const fillsAt = new Map();
    for (let i = 0; i < M.slot.length; i++) {
      const buy = M.side[i] > 0;
      const reason = present(reasons[i]) ? reasons[i] : null;
      const text = (buy ? 'B ' : 'S ') + qty(Math.abs(M.size[i]));
      base.push({
        slot: M.slot[i], buy: buy, reason: reason,
        text: reason !== null ? exitLabel(reason) : text,
      });
      const at = fillsAt.get(M.slot[i]) || [];
      at.push(text + ' @ ' + (isNum(M.price[i]) ? M.price[i].toFixed(priceFmt.precision) : '—') +
        (M.count[i] > 1 ? ' (' + M.count[i] + ' fills)' : '') + (reason !== null ? ' ' + reason : ''));
      fillsAt.set(M.slot[i], at);
    }
    const markerLayer = LC.createSeriesMarkers(candles, []);
    const measure = document.createElement('canvas').getContext('2d');
    measure.font = "11px -apple-system, BlinkMacSystemFont, 'Trebuchet MS', Roboto, Ubuntu, sans-serif";
    const textWidth = new Map();
    const widthOf = (s) => {
      if (!textWidth.has(s)) textWidth.set(s, Math.ceil(measure.measureText(s).width) + 8);
      return textWidth.get(s);
    };
    const MARKER_PX = 14; // an arrow is at least 11 px wide: closer markers are grouped
    function layoutMarkers() {
      const ts = chart.timeScale();
      const r = ts.getVisibleLogicalRange() || { from: 0, to: slots };
      const width = Math.max(1, ts.width() || el.clientWidth);
      const spacing = width / Math.max(1, r.to - r.from); // px per slot
      const group = Math.max(1, Math.ceil(MARKER_PX / spacing)); // slots between markers
      // Texts only where markers are sparse: on average 40 px or more apart on each side.
      const visible = [0, 0];
      for (const m of base) if (m.slot >= r.from && m.slot <= r.to) visible[m.buy ? 0 : 1]++;
      const texts = Math.max(visible[0], visible[1]) * 40 <= width;
      const out = [];
      const lastText = [-Infinity, -Infinity]; // right edge of the last text, per side
      const open = [null, null]; // the group being filled, per side
      const flush = (side) => {
        const g = open[side];
        if (!g) return;
        open[side] = null;
        const m = g.first;
        const mk = {
          time: m.slot, position: m.buy ? 'belowBar' : 'aboveBar',
          shape: m.buy ? 'arrowUp' : 'arrowDown',
          color: m.buy ? '#1a7f37' : '#cf222e', text: '', size: 1,
        };
        if (g.count === 1 && texts) {
          // Alone: a text when it does not run into the previous one on its side.
          const w = widthOf(m.text);
          const x = m.slot * spacing;
          if (x - w / 2 >= lastText[side]) {
            mk.text = m.text;
            lastText[side] = x + w / 2;
          }
        } else {
          mk.color = m.buy ? 'rgba(26, 127, 55, 0.85)' : 'rgba(207, 34, 46, 0.85)';
        }
        out.push(mk);
      };
      for (const m of base) {
        const side = m.buy ? 0 : 1;
        // A marker closer than `group` slots to the one that opened its side's group joins it.
        if (open[side] && m.slot - open[side].first.slot >= group) flush(side);
        if (!open[side]) open[side] = { first: m, count: 0 };
        open[side].count++;
      }
      flush(0);
      flush(1);
      out.sort((a, b) => a.time - b.time);
      markerLayer.setMarkers(out);
    }
    let layoutPending = false;
    const scheduleLayout = () => {
      if (layoutPending) return;
      layoutPending = true;
      requestAnimationFrame(() => { layoutPending = false; layoutMarkers(); });
    };
    chart.timeScale().subscribeVisibleLogicalRangeChange(scheduleLayout);
    chart.timeScale().subscribeSizeChange(scheduleLayout);

    // The trade being shown: a shaded band from its entry slot to its exit slot, drawn under the
    // series of the price and equity panes (a series primitive).
    const band = { a: null, b: null, updates: [] };
    function bandPrimitive() {
      const renderer = {
        draw(target) {
          if (band.a === null) return;
          const ts = chart.timeScale();
          const xa = ts.logicalToCoordinate(band.a);
          const xb = ts.logicalToCoordinate(band.b);
          const next = ts.logicalToCoordinate(band.a + 1);
          if (xa === null || xb === null) return;
          const half = next === null ? 0 : Math.max(0.5, (next - xa) / 2);
          target.useMediaCoordinateSpace(({ context, mediaSize }) => {
            const x = xa - half;
            const w = xb - xa + 2 * half;
            context.fillStyle = 'rgba(9, 105, 218, 0.10)';
            context.fillRect(x, 0, w, mediaSize.height);
            context.fillStyle = 'rgba(9, 105, 218, 0.45)';
            context.fillRect(x, 0, 1, mediaSize.height);
            context.fillRect(x + w - 1, 0, 1, mediaSize.height);
          });
        },
      };
      const view = { zOrder: () => 'bottom', renderer: () => renderer };
      return {
        attached: (p) => { band.updates.push(p.requestUpdate); },
        detached: () => {},
        updateAllViews: () => {},
        paneViews: () => [view],
      };
    }
    candles.attachPrimitive(bandPrimitive());
    equity.attachPrimitive(bandPrimitive());
    function showBand(a, b) {
      band.a = a;
      band.b = a === null ? null : Math.max(a, b);
      for (const update of band.updates) update();
    }

    // The legend follows the crosshair.
    const legend = document.getElementById('btl-legend');
    const num = (v, f) => (present(v) ? v.toFixed(f.precision) : '—');
    function item(text, color, dashed) {
      if (color) {
        const sw = document.createElement('span');
        sw.className = dashed ? 'btl-sw btl-sw-dashed' : 'btl-sw';
        sw.style[dashed ? 'borderColor' : 'background'] = color;
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
      for (const l of levelLines) if (present(l.values[t])) item(l.name + ' ' + num(l.values[t], priceFmt), l.color);
      item('equity ' + num(D.equity[t], money), '#0969da');
      if (bench) {
        item('buy & hold ' + num(bench[Math.min(t, n - 1)], money) +
          (isNum(benchReturn) ? ' (' + pct(benchReturn) + ' over the run)' : ''), BENCH, true);
      }
      item('drawdown ' + num(ddPct[t], money) + '%', '#cf222e');
      const f = fillsAt.get(t);
      if (f) item('  fills: ' + f.join(', '));
    }
    // Off the chart, the legend shows the last visible slot.
    let hovered = null;
    let lastVisible = n - 1;
    chart.subscribeCrosshairMove((param) => {
      hovered = param.time === undefined ? null : param.time;
      showLegend(hovered === null ? lastVisible : hovered);
    });
    chart.timeScale().subscribeVisibleLogicalRangeChange((r) => {
      if (!r) return;
      lastVisible = Math.max(0, Math.min(n - 1, Math.floor(r.to)));
      if (hovered === null) showLegend(lastVisible);
    });
    if (intraday) {
      chart.timeScale().subscribeVisibleLogicalRangeChange((r) => {
        if (!r) return;
        const a = label(Math.max(0, Math.floor(r.from)));
        const b = label(Math.min(D.time.length - 1, Math.ceil(r.to)));
        const days = (Date.parse(b.slice(0, 10)) - Date.parse(a.slice(0, 10))) / 86400000;
        if (zoomedIn !== days <= 5) {
          zoomedIn = days <= 5;
          // new options drop the time scale's cache of formatted labels
          chart.timeScale().applyOptions({ tickMarkMaxCharacterLength: zoomedIn ? 11 : 10 });
        }
      });
    }
    showLegend();

    // Shows slots a..b on the chart with some context around them; scroll: 'smooth' or
    // 'instant' to bring the chart into view.
    function zoomTo(a, b, scroll) {
      const span = Math.max(1, b - a);
      const pad = Math.max(15, Math.round(span * 0.75));
      chart.timeScale().setVisibleLogicalRange({ from: a - pad, to: b + pad });
      if (scroll) legend.scrollIntoView({ behavior: scroll, block: 'start' });
    }

    const sections = [];
    const trades = tradeTable(D, priceFmt, zoomTo, showBand);
    // A month or year of the returns table: shaded and shown on the chart.
    const returns = monthlyReturns(D, cash, (a, b, how) => {
      if (trades) trades.clear();
      showBand(a, b);
      zoomTo(a, b, how);
    });
    if (returns) sections.push(returns);
    if (trades) {
      sections.push(trades.section);
      chart.subscribeClick((param) => {
        const t = param.time !== undefined ? param.time
          : param.logical !== undefined ? Math.round(param.logical) : null;
        if (t !== null) trades.selectAt(t);
      });
    }
    if (sections.length) {
      const nav = h('nav', { className: 'btl-nav' }, ['Below the chart: ']);
      sections.forEach((s, i) => {
        if (i) nav.appendChild(document.createTextNode(' · '));
        nav.appendChild(h('a', { href: '#' + s.id }, s.dataset.title));
      });
      legend.parentNode.insertBefore(nav, legend);
      const main = status.parentNode;
      for (const s of sections) main.appendChild(s);
    }
    // After the sections: the page's scroll bar, if any, has taken its width from the chart.
    chart.timeScale().fitContent();
    layoutMarkers();
    // Links into the page: #trade-N shows the N-th listed trade, #period-YYYY[-MM] a year or month.
    const hash = decodeURIComponent(location.hash.slice(1));
    let m;
    if (trades && (m = /^trade-(\d+)$/.exec(hash))) trades.show(+m[1] - 1, 'instant');
    else if (returns && (m = /^period-(\d{4}(?:-\d{2})?)$/.exec(hash))) returns.zoom(m[1], 'instant');
    else if (hash && sections.some((s) => s.id === hash)) document.getElementById(hash).scrollIntoView();

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
      layoutMarkers();
      status.dataset.state = 'ok';
      status.textContent = 'Rendered ' + n + ' candles, ' + D.series.length + ' plot series, ' +
        M.slot.length + ' markers (' + D.bars + ' bars, ' + D.trades + ' closed trades' +
        (trades ? ', ' + trades.count + ' listed' : '') +
        (returns ? ', ' + returns.dataset.months + ' months' : '') + ').';
    }));
  }

  // Returns by month and by year from D.periods: a heatmap, years down, months across.
  function monthlyReturns(D, cash, zoomTo) {
    const P = D.periods;
    if (!P || !isArr(P.month) || !isArr(P.end_value) || P.month.length === 0) return null;
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const start = isNum(P.start_value) ? P.start_value : cash;
    const byMonth = new Map(); // 'YYYY-MM' -> { r, end }
    const years = new Map(); // 'YYYY' -> { start, end }: equity before the year, at its end
    let prev = start;
    let prevMonth = null;
    let yearStart = start;
    let lastYear = null;
    // The calendar month before 'YYYY-MM'.
    const before = (mo) => {
      const y = +mo.slice(0, 4);
      const m = +mo.slice(5, 7);
      return m > 1 ? y + '-' + (m < 11 ? '0' : '') + (m - 1) : (y - 1) + '-12';
    };
    for (let i = 0; i < P.month.length; i++) {
      const mo = String(P.month[i]);
      const end = P.end_value[i];
      const y = mo.slice(0, 4);
      if (y !== lastYear) {
        if (lastYear !== null) yearStart = prev;
        years.set(y, { start: yearStart, end: null });
        lastYear = y;
      }
      const r = isNum(end) && isNum(prev) && prev !== 0 ? end / prev - 1 : null;
      // after months without bars, the return runs from the last month with bars
      const since = prevMonth !== null && prevMonth !== before(mo) ? prevMonth : null;
      byMonth.set(mo, { r: r, end: end, since: since });
      if (isNum(end)) {
        years.get(y).end = end;
        prev = end;
        prevMonth = mo;
      }
    }
    const first = String(P.month[0]);
    const last = String(P.month[P.month.length - 1]);
    const y0 = parseInt(first.slice(0, 4), 10);
    const y1 = parseInt(last.slice(0, 4), 10);
    if (!(y1 >= y0)) return null;
    const monthRs = [...byMonth.values()].map((m) => m.r).filter(isNum);
    const yearRs = [...years.values()].map((y) => (isNum(y.end) && y.start ? y.end / y.start - 1 : null));
    // Shading: full colour at the 90th percentile of the size of the returns.
    const scaleOf = (rs) => {
      const a = rs.filter(isNum).map(Math.abs).sort((x, y) => x - y);
      return a.length ? Math.max(a[Math.floor(0.9 * (a.length - 1))], 1e-9) : 1;
    };
    const monthScale = scaleOf(monthRs);
    const yearScale = scaleOf(yearRs);
    function shade(td, r, scale) {
      if (!isNum(r) || Math.abs(r) < 0.0005) return; // shown as 0.0%
      const s = Math.min(1, Math.abs(r) / scale);
      const alpha = 0.1 + 0.6 * Math.sqrt(s);
      td.style.background = r >= 0 ? 'rgba(26, 127, 55, ' + alpha.toFixed(3) + ')'
        : 'rgba(207, 34, 46, ' + alpha.toFixed(3) + ')';
      if (alpha > 0.5) td.classList.add('btl-strong');
    }
    // Slots of a time prefix ('YYYY' or 'YYYY-MM'), by binary search over the sorted labels.
    const lowerBound = (s) => {
      let lo = 0;
      let hi = D.time.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (D.time[mid] < s) lo = mid + 1; else hi = mid;
      }
      return lo;
    };
    const zoomPrefix = (p, how) => {
      const a = lowerBound(p);
      const b = lowerBound(p + '\uffff') - 1;
      if (b >= a) zoomTo(a, b, how || 'smooth');
    };

    const head = h('tr', null, [h('th', { scope: 'col' }, 'Year')]
      .concat(MONTHS.map((m) => h('th', { scope: 'col' }, m)))
      .concat([h('th', { scope: 'col', className: 'btl-year' }, 'Year')]));
    const body = h('tbody');
    for (let y = y0; y <= y1; y++) {
      const ys = String(y);
      const tr = h('tr', null, [h('th', { scope: 'row' }, ys)]);
      for (let m = 1; m <= 12; m++) {
        const key = ys + '-' + (m < 10 ? '0' : '') + m;
        const rec = byMonth.get(key);
        const inRun = key >= first && key <= last;
        const td = h('td');
        if (rec && isNum(rec.r)) {
          td.textContent = pct(rec.r, 1);
          td.title = key + ': ' + pct(rec.r) + (rec.since ? ' since the end of ' + rec.since : '') +
            ', equity ' + money2(rec.end) + ' at the month\u2019s end';
          shade(td, rec.r, monthScale);
          td.classList.add('btl-link');
          td.addEventListener('click', () => zoomPrefix(key));
        } else if (inRun || rec) {
          td.textContent = 'n/a';
          td.title = key + ': no bars';
          td.className = 'btl-na';
        } else {
          td.className = 'btl-out';
        }
        tr.appendChild(td);
      }
      const yr = years.get(ys);
      const r = yr && isNum(yr.end) && yr.start ? yr.end / yr.start - 1 : null;
      const td = h('td', { className: 'btl-year' });
      if (isNum(r)) {
        td.textContent = pct(r, 1);
        td.title = ys + ': ' + pct(r) + ', equity ' + money2(yr.end) + ' at the year\u2019s end';
        shade(td, r, yearScale);
        td.classList.add('btl-link');
        td.addEventListener('click', () => zoomPrefix(ys));
      } else {
        td.textContent = 'n/a';
        td.classList.add('btl-na');
      }
      tr.appendChild(td);
      body.appendChild(tr);
    }
    const table = h('table', { className: 'btl-table btl-heatmap' }, [h('thead', null, head), body]);

    // One line of context: positive months, best and worst.
    let best = null;
    let worst = null;
    let up = 0;
    for (const [mo, rec] of byMonth) {
      if (!isNum(rec.r)) continue;
      if (rec.r > 0) up++;
      if (!best || rec.r > best.r) best = { mo: mo, r: rec.r };
      if (!worst || rec.r < worst.r) worst = { mo: mo, r: rec.r };
    }
    const facts = [up + ' of ' + monthRs.length + ' months positive'];
    if (best && best.r > 0) facts.push('best ' + pct(best.r) + ' (' + best.mo + ')');
    if (worst && worst.r < 0) facts.push('worst ' + pct(worst.r) + ' (' + worst.mo + ')');
    const section = h('section', { className: 'btl-section', id: 'btl-returns' }, [
      h('h2', null, 'Returns by month and year'),
      h('p', { className: 'btl-notes' }, facts.join(' · ') + '. A month\u2019s return is the ' +
        'equity at its last bar over the equity at the previous month\u2019s last bar (the first ' +
        'month\u2019s over the initial cash); n/a: no bars that month. Click a cell to show it on ' +
        'the chart.'),
      h('div', { className: 'btl-scroll' }, table),
    ]);
    section.dataset.title = 'Returns by month';
    section.dataset.months = String(monthRs.length);
    section.zoom = zoomPrefix;
    return section;
  }

  // The closed trades: a sortable, paged table; a row shows its trade on the chart.
  function tradeTable(D, priceFmt, zoomTo, showBand) {
    const T = D.trade_list;
    if (!T || typeof T !== 'object' || !isArr(T.entry_time)) return null;
    const count = T.entry_time.length;
    const col = (k) => (isArr(T[k]) ? T[k] : []);
    const get = (k, i) => { const a = col(k); return i < a.length ? a[i] : null; };
    const total = isNum(D.trade_list_total) ? D.trade_list_total : count;
    const PAGE = 100;
    const pricef = (v) => (isNum(v) ? v.toFixed(priceFmt.precision) : '—');
    const COLS = [
      { key: 'index', title: '#', num: true, cell: (i) => String(i + 1), sort: (i) => i },
      { key: 'entry_time', title: 'Entry time', cell: (i) => String(get('entry_time', i) ?? '—') },
      { key: 'exit_time', title: 'Exit time', cell: (i) => String(get('exit_time', i) ?? '—') },
      {
        key: 'side', title: 'Side', cell: (i) => {
          const s = String(get('side', i) ?? '—');
          return h('span', { className: 'btl-side btl-side-' + (s === 'short' ? 'short' : 'long') }, s);
        },
      },
      {
        key: 'qty', title: 'Qty', num: true,
        cell: (i) => { const v = get('qty', i); return isNum(v) ? qty(Math.abs(v)) : '—'; },
        sort: (i) => (isNum(get('qty', i)) ? Math.abs(get('qty', i)) : null),
      },
      { key: 'entry_price', title: 'Entry price', num: true, cell: (i) => pricef(get('entry_price', i)) },
      { key: 'exit_price', title: 'Exit price', num: true, cell: (i) => pricef(get('exit_price', i)) },
      { key: 'pnl', title: 'P&L', tip: 'Net profit or loss, costs included', num: true, signed: true, cell: (i) => signed2(get('pnl', i)) },
      {
        key: 'return_pct', title: 'Return', tip: 'Return on the entry value', num: true, signed: true,
        cell: (i) => { const v = get('return_pct', i); return isNum(v) ? pct(v / 100) : '—'; },
      },
      { key: 'bars', title: 'Bars', tip: 'Bars held', num: true, cell: (i) => (isNum(get('bars', i)) ? String(get('bars', i)) : '—') },
      { key: 'exit_reason', title: 'Exit', tip: 'What closed the trade', cell: (i) => String(get('exit_reason', i) ?? '—') },
    ].filter((c) => c.key === 'index' || c.key === 'entry_time' || isArr(T[c.key]));
    for (const c of COLS) if (!c.sort) c.sort = (i) => get(c.key, i);

    const order = [];
    for (let i = 0; i < count; i++) order.push(i);
    let sortCol = 'index';
    let sortDir = 1;
    let page = 0;
    let selected = -1;
    const pages = () => Math.max(1, Math.ceil(count / PAGE));

    const ths = COLS.map((c) => {
      const btn = h('button', { type: 'button' }, [c.title, h('span', { className: 'btl-arrow' })]);
      btn.addEventListener('click', () => sortBy(c.key));
      return h('th', { scope: 'col', className: c.num ? 'btl-num' : '', title: c.tip || '' }, btn);
    });
    const tbody = h('tbody');
    const table = h('table', { className: 'btl-table btl-trades' }, [h('thead', null, h('tr', null, ths)), tbody]);
    const pagers = [makePager(), makePager()];
    function makePager() {
      const first = h('button', { type: 'button', title: 'First page' }, '\u00ab');
      const prev = h('button', { type: 'button' }, '\u2039 Prev');
      const info = h('span', { className: 'btl-page-info' });
      const next = h('button', { type: 'button' }, 'Next \u203a');
      const lastB = h('button', { type: 'button', title: 'Last page' }, '\u00bb');
      first.addEventListener('click', () => go(0));
      prev.addEventListener('click', () => go(page - 1));
      next.addEventListener('click', () => go(page + 1));
      lastB.addEventListener('click', () => go(pages() - 1));
      const el = h('div', { className: 'btl-pager' }, [first, prev, info, next, lastB]);
      return { el: el, first: first, prev: prev, info: info, next: next, last: lastB };
    }
    function go(p) {
      page = Math.max(0, Math.min(pages() - 1, p));
      render();
    }
    function sortBy(key) {
      if (sortCol === key) sortDir = -sortDir;
      else {
        sortCol = key;
        sortDir = 1;
      }
      const c = COLS.find((x) => x.key === key);
      const cmp = (a, b) => {
        const x = c.sort(a);
        const y = c.sort(b);
        const xn = x === null || x === undefined;
        const yn = y === null || y === undefined;
        if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1; // missing values last
        if (x < y) return -sortDir;
        if (x > y) return sortDir;
        return a - b;
      };
      order.sort(cmp);
      page = 0;
      render();
    }
    function select(i, show) {
      selected = i;
      for (const tr of tbody.children) tr.classList.toggle('btl-selected', +tr.dataset.i === i);
      const a = get('entry_slot', i);
      const b = get('exit_slot', i);
      if (isNum(a) && isNum(b)) {
        showBand(a, b);
        if (show) zoomTo(a, b, show);
      }
    }
    function render() {
      const from = page * PAGE;
      const to = Math.min(count, from + PAGE);
      const frag = document.createDocumentFragment();
      for (let k = from; k < to; k++) {
        const i = order[k];
        const tr = h('tr', { tabIndex: 0 });
        tr.dataset.i = String(i);
        if (i === selected) tr.classList.add('btl-selected');
        for (const c of COLS) {
          const td = h('td', { className: c.num ? 'btl-num' : '' }, c.cell(i));
          // the orders' names, when the program gave them
          const orderName = c.key === 'entry_time' ? get('entry_order', i)
            : c.key === 'exit_reason' ? get('exit_order', i) : null;
          if (orderName !== null && orderName !== undefined && orderName !== '') {
            td.title = 'order \u201c' + orderName + '\u201d';
          }
          if (c.signed) {
            const v = get(c.key, i);
            if (isNum(v) && v > 0) td.classList.add('btl-pos');
            if (isNum(v) && v < 0) td.classList.add('btl-neg');
          }
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      }
      tbody.textContent = '';
      tbody.appendChild(frag);
      COLS.forEach((c, k) => {
        ths[k].setAttribute('aria-sort', c.key === sortCol ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
        ths[k].querySelector('.btl-arrow').textContent = c.key === sortCol ? (sortDir > 0 ? ' \u25b2' : ' \u25bc') : '';
      });
      for (const p of pagers) {
        p.info.textContent = count ? 'Trades ' + (from + 1) + '\u2013' + to + ' of ' + count +
          ' \u00b7 page ' + (page + 1) + ' of ' + pages() : 'No closed trades';
        p.first.disabled = p.prev.disabled = page === 0;
        p.next.disabled = p.last.disabled = page >= pages() - 1;
        p.el.hidden = pages() <= 1;
      }
    }
    const activate = (e) => {
      const tr = e.target.closest('tr');
      if (tr && tr.dataset.i !== undefined) select(+tr.dataset.i, 'smooth');
    };
    tbody.addEventListener('click', activate);
    tbody.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        activate(e);
      }
    });
    render();

    const notes = [];
    if (total > count) {
      notes.push('The first ' + count + ' of ' + total + ' closed trades are listed; the --trades ' +
        'CSV file holds them all.');
    }
    if (count) notes.push('Click a row to show the trade on the chart, a heading to sort.');
    const section = h('section', { className: 'btl-section', id: 'btl-trades' }, [
      h('h2', null, ['Trades ', h('span', { className: 'btl-count' }, total > count ? count + ' of ' + total : String(count))]),
      notes.length ? h('p', { className: 'btl-notes' }, notes.join(' ')) : null,
      count ? pagers[0].el : null,
      count ? h('div', { className: 'btl-scroll' }, table) : h('p', null, 'No closed trades.'),
      count ? pagers[1].el : null,
    ]);
    section.dataset.title = 'Trades';
    return {
      section: section,
      count: count,
      // No row selected.
      clear() {
        selected = -1;
        for (const tr of tbody.querySelectorAll('.btl-selected')) tr.classList.remove('btl-selected');
      },
      // Trade i on the chart, its row selected on its page.
      show(i, how) {
        if (!(i >= 0 && i < count)) return;
        page = Math.floor(order.indexOf(i) / PAGE);
        render();
        select(i, how || 'smooth');
      },
      // A click on the chart: the trade open at slot t, if any, on its page of the table.
      selectAt(t) {
        const es = col('entry_slot');
        const xs = col('exit_slot');
        let hit = -1;
        for (let i = 0; i < count; i++) {
          if (es[i] <= t && t <= xs[i]) {
            hit = i;
            if (es[i] === t || xs[i] === t) break;
          }
        }
        if (hit < 0) {
          selected = -1;
          showBand(null);
          render();
          return;
        }
        page = Math.floor(order.indexOf(hit) / PAGE);
        render();
        select(hit, false);
      },
    };
  }

  try {
    main();
  } catch (e) {
    fail(e && e.stack ? e.stack : String(e));
  }
})();

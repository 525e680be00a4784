// The demo's live page: renders the snapshots the application sends every second (server-sent events on
// /api/stream, GET /api/snapshot once at load), draws the last two minutes with uPlot, and sends the buttons' actions
// (POST /api/actions/...). No framework, no build step: this file is served as it is.
'use strict';

const HISTORY_POINTS = 120;
const history = { time: [], l1: [], l2: [], db: [], cdcLag: [], flushLag: [], stale: [], refusals: [] };
const charts = {};
let previous = null;
let snapshotsSeen = 0;

const $ = (id) => document.getElementById(id);

function text(id, value) {
  const element = $(id);
  if (element) {
    element.textContent = value === null || value === undefined ? '–' : String(value);
  }
}

function millis(value) {
  return value === null || value === undefined ? '–' : Math.round(value) + ' ms';
}

function percent(value) {
  return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + ' %';
}

function healthClass(health) {
  if (health === 'UP' || health === 'LIVE' || health === 'live' || health === 'settled') {
    return 'ok';
  }
  return health === 'DEGRADED' || health === 'STARTING' || health === 'UNKNOWN' ? 'warn' : 'bad';
}

function setStatus(id, value) {
  const element = $(id);
  element.textContent = value || '–';
  element.className = value ? healthClass(value) : '';
}

// --- rendering ------------------------------------------------------------------------------------------------------

function render(snapshot) {
  snapshotsSeen++;
  document.body.dataset.snapshots = String(snapshotsSeen);
  text('mode', snapshot.mode);
  setStatus('redis-health', snapshot.redis && snapshot.redis.health);
  text('redis-paused', snapshot.redis && snapshot.redis.paused ? '(paused)' : '');
  renderCdc(snapshot.cdc || {});
  renderSale(snapshot.sale);
  renderSqlChange(snapshot.lastSqlChange);
  renderLoad(snapshot.load || {});
  renderConsistency(snapshot);
  renderStrategies(snapshot.strategies || []);
  renderEvents(snapshot.events || []);
  record(snapshot);
  previous = snapshot;
}

function renderCdc(cdc) {
  const state = cdc.where === 'sidecar' && !cdc.state ? 'in the sidecar' : cdc.state;
  setStatus('cdc-state', state);
  text('cdc-where', cdc.where === 'sidecar' ? '(the cdc-sidecar service)' : '(in this application)');
  text('cdc-lag', millis(cdc.lagMillis));
}

function renderSale(sale) {
  if (!sale) {
    return;
  }
  let state = 'selling';
  if (!sale.running) {
    state = sale.settled ? 'settled' : 'writing behind to the database';
  }
  text('sale-state', state);
  text('sale-stock', sale.stock);
  text('sale-sold', sale.sold);
  text('sale-oversold', sale.oversold);
  text('sale-db-stock', sale.dbStock);
  text('sale-in-doubt', sale.inDoubt);
  text('sale-given-back', sale.givenBack);
  $('sale-oversold').className = sale.oversold > 0 ? 'bad' : 'ok';
}

function renderSqlChange(change) {
  if (!change) {
    return;
  }
  text('sql-result', 'product ' + change.productId + ' renamed to "' + change.newName + '" by plain SQL');
  text('sql-visible-after', change.visibleAfterMillis === null ? 'waiting…' : Math.round(change.visibleAfterMillis));
}

function renderLoad(load) {
  const button = $('btn-load');
  button.textContent = load.running ? 'Stop the load generator' : 'Start the load generator';
  button.classList.toggle('on', Boolean(load.running));
  button.dataset.running = load.running ? 'true' : 'false';
  text('load-state', load.running ? 'on' : 'off');
  text('load-reads', Math.round(load.readsPerSecond || 0));
  text('load-writes', Math.round(load.writesPerSecond || 0));
  text('load-failed', load.failed || 0);
}

function renderConsistency(snapshot) {
  const inspector = snapshot.inspector || {};
  text('inspector-stale', inspector.stale);
  text('inspector-sampled', inspector.sampled);
  text('inspector-mismatched', inspector.mismatched);
  $('inspector-stale').className = inspector.stale > 0 ? 'bad' : 'ok';
  const writeBehind = snapshot.writeBehind || {};
  text('wb-backlog', writeBehind.backlog);
  text('wb-flush-lag', millis(writeBehind.flushLagMillis));
  text('wb-applied', writeBehind.applied);
  text('wb-refused', writeBehind.refused);
  text('fence-refusals', totalRefusals(snapshot));
}

function totalRefusals(snapshot) {
  return (snapshot.strategies || []).reduce((sum, s) => sum + (s.fenceRefusals || 0), 0);
}

function renderStrategies(strategies) {
  const container = $('strategy-cards');
  for (const strategy of strategies) {
    let card = $('strategy-' + strategy.id);
    if (!card) {
      card = $('strategy-card').content.firstElementChild.cloneNode(true);
      card.id = 'strategy-' + strategy.id;
      container.appendChild(card);
    }
    card.querySelector('.title').textContent = strategy.title;
    card.querySelector('.what').textContent = strategy.what || '';
    const reads = strategy.reads || {};
    const ratio = strategy.hitRatio || {};
    for (const level of ['l1', 'l2', 'db']) {
      card.querySelector('.reads-' + level).textContent = reads[level] === undefined ? '–' : reads[level];
      card.querySelector('.ratio-' + level).textContent = percent(ratio[level]);
      card.querySelector('.bar .' + level).style.width = ((ratio[level] || 0) * 100) + '%';
    }
    card.querySelector('.refusals').textContent = strategy.fenceRefusals;
    card.querySelector('.stale').textContent = strategy.inspectorStale;
  }
}

function renderEvents(events) {
  const list = $('events');
  list.replaceChildren(...events.map((event) => {
    const item = document.createElement('li');
    item.textContent = new Date(event.time).toLocaleTimeString() + '  ' + event.text;
    return item;
  }));
}

// --- charts ---------------------------------------------------------------------------------------------------------

function sumReads(snapshot, level) {
  return (snapshot.strategies || []).reduce((sum, s) => sum + ((s.reads || {})[level] || 0), 0);
}

function record(snapshot) {
  const seconds = snapshot.time / 1000;
  if (previous) {
    const elapsed = Math.max((snapshot.time - previous.time) / 1000, 0.001);
    for (const level of ['l1', 'l2', 'db']) {
      history[level].push(Math.max(sumReads(snapshot, level) - sumReads(previous, level), 0) / elapsed);
    }
  } else {
    history.l1.push(null);
    history.l2.push(null);
    history.db.push(null);
  }
  history.time.push(seconds);
  history.cdcLag.push(snapshot.cdc ? snapshot.cdc.lagMillis : null);
  history.flushLag.push(snapshot.writeBehind ? snapshot.writeBehind.flushLagMillis : null);
  history.stale.push(snapshot.inspector ? snapshot.inspector.stale : null);
  history.refusals.push(totalRefusals(snapshot));
  for (const key of Object.keys(history)) {
    if (history[key].length > HISTORY_POINTS) {
      history[key].shift();
    }
  }
  drawCharts();
}

function chart(id, series) {
  if (typeof uPlot === 'undefined') {
    return null; // the webjar did not load: the numbers above still work
  }
  if (!charts[id]) {
    const element = $(id);
    charts[id] = new uPlot({
      width: Math.max(element.clientWidth, 300),
      height: 170,
      scales: { x: { time: true } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, spanGaps: true }))],
    }, [[], ...series.map(() => [])], element);
  }
  return charts[id];
}

function drawCharts() {
  const reads = chart('chart-reads', [
    { label: 'L1', colour: '#2e7d32' }, { label: 'L2', colour: '#1565c0' }, { label: 'database', colour: '#9e9e9e' }]);
  if (reads) {
    reads.setData([history.time, history.l1, history.l2, history.db]);
  }
  const lag = chart('chart-lag', [{ label: 'CDC lag', colour: '#6a1b9a' }, { label: 'flush lag', colour: '#ef6c00' }]);
  if (lag) {
    lag.setData([history.time, history.cdcLag, history.flushLag]);
  }
  const consistency = chart('chart-consistency', [
    { label: 'stale reads', colour: '#c62828' }, { label: 'fills refused', colour: '#1565c0' }]);
  if (consistency) {
    consistency.setData([history.time, history.stale, history.refusals]);
  }
}

window.addEventListener('resize', () => {
  for (const [id, plot] of Object.entries(charts)) {
    plot.setSize({ width: Math.max($(id).clientWidth, 300), height: 170 });
  }
});

// --- actions --------------------------------------------------------------------------------------------------------

async function act(button, path) {
  button.disabled = true;
  try {
    const response = await fetch(path, { method: 'POST' });
    const body = await response.text();
    let answer = body;
    try {
      const json = JSON.parse(body);
      answer = json.text || json.error || json.message || body;
    } catch (ignored) {
      // not JSON: show it as it came
    }
    text('action-answer', (response.ok ? '' : 'refused: ') + answer);
  } catch (error) {
    text('action-answer', 'the application did not answer: ' + error);
  } finally {
    button.disabled = false;
  }
}

$('btn-sql-change').addEventListener('click', (e) => act(e.target, '/api/actions/sql-change'));
$('btn-pause-redis').addEventListener('click', (e) => act(e.target, '/api/actions/pause-redis?seconds=3'));
$('btn-restart-listener').addEventListener('click', (e) => act(e.target, '/api/actions/restart-listener?downSeconds=3'));
$('btn-flash-sale').addEventListener('click', (e) => act(e.target, '/api/actions/flash-sale?stock=100&buyers=16'));
$('btn-load').addEventListener('click', (e) =>
  act(e.target, '/api/actions/load?on=' + (e.target.dataset.running === 'true' ? 'false' : 'true')));

// --- the stream -----------------------------------------------------------------------------------------------------

function connect() {
  fetch('/api/snapshot').then((r) => r.json()).then(render).catch(() => text('stream-status', 'no answer'));
  const stream = new EventSource('/api/stream');
  stream.addEventListener('open', () => setStatus('stream-status', 'live'));
  stream.addEventListener('snapshot', (event) => {
    setStatus('stream-status', 'live');
    render(JSON.parse(event.data));
  });
  stream.addEventListener('error', () => {
    $('stream-status').textContent = 'reconnecting';
    $('stream-status').className = 'warn';
  });
}

connect();

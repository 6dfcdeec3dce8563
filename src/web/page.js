// sanctum's phone page: follows the room over server-sent events (/events) and sends
// commands by POST (/cmd). Next and stop are guarded so that a tap in a pocket changes
// nothing: next needs a hold or a second tap, stop needs a hold.
'use strict';

const HOLD_NEXT_MS = 700;
const HOLD_STOP_MS = 1500;
const SECOND_TAP_MS = 3000;
const RING = 2 * Math.PI * 46;

const $ = (id) => document.getElementById(id);
const app = $('app');
let state = null;
let control = false;
// The server's wall clock and the phase's paused time at the last `clock` event, and when
// (on this page's monotonic clock) it came.
let serverNow = 0;
let pausedMs = 0;
let clockAt = 0;
let source = null;

function note(text) { $('note').textContent = text || ''; }

function connect() {
  if (source) source.close();
  source = new EventSource('/events');
  source.addEventListener('hello', (e) => {
    control = JSON.parse(e.data).control === true;
    note('');
  });
  source.addEventListener('state', (e) => {
    state = JSON.parse(e.data);
    render();
  });
  source.addEventListener('clock', (e) => {
    const c = JSON.parse(e.data);
    serverNow = c.now_ms;
    pausedMs = c.paused_ms;
    clockAt = performance.now();
    tick();
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (unpaired, or the token was replaced): only the pairing hint is left.
      state = null;
      app.className = 'connecting';
      note('This phone is not paired with the room. Scan the room’s QR code again.');
      setTimeout(connect, 10000);
    } else {
      note('Reconnecting…');
    }
  };
}

function modeClass(mode) {
  if (mode === 'running' || mode === 'paused') return 'running';
  if (mode === 'idle') return 'idle';
  return 'ending';
}

function render() {
  if (!state) return;
  const mode = state.mode;
  app.className = modeClass(mode) + (state.paused ? ' paused' : '') + (control ? ' control' : ' view');
  $('ceremony').textContent = state.ceremony_title || 'sanctum';
  $('step').textContent = state.index != null ? `${state.index + 1} of ${state.phases}` : '';
  if (mode === 'idle') {
    document.title = 'sanctum';
    document.querySelector('#idle .hint').textContent = control
      ? 'Nothing plays and the lights are untouched. Choose a ceremony below.'
      : 'Nothing plays and the lights are untouched.';
    renderCeremonies(state.ceremonies || []);
  } else if (mode === 'running' || mode === 'paused') {
    $('title').textContent = state.title || state.phase || '';
    $('guidance').textContent = state.guidance || '';
    document.title = `${state.title || state.phase} · sanctum`;
  } else {
    const ending = {
      stopping: ['Stopping gently', 'The room fades to its safe light and to silence.'],
      finishing: ['Closing', 'The light and the music fade out.'],
    }[mode] || ['Ended', 'The room is at rest.'];
    $('title').textContent = ending[0];
    $('guidance').textContent = ending[1];
    document.title = 'sanctum';
  }
  $('pause').textContent = state.paused ? 'Resume' : 'Pause';
  $('volume').textContent = state.volume_db == null ? '' : formatDb(state.volume_db);
  $('controls').hidden = !control;
  tick();
}

function formatDb(db) {
  const r = Math.round(db);
  return r < 0 ? `\u2212${-r} dB` : `${r} dB`;
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function minutes(ms) {
  const m = Math.ceil(ms / 60000);
  return m <= 1 ? 'a minute' : `${m} min`;
}

// The server's wall clock now, counted on this page's own monotonic clock.
function serverNowMs() {
  return serverNow + (performance.now() - clockAt);
}

function tick() {
  if (!state || !state.phase_started_at || !clockAt) return;
  const started = Date.parse(state.phase_started_at);
  const now = state.paused ? serverNow : serverNowMs();
  const elapsed = Math.max(0, now - started - pausedMs);
  $('elapsed').textContent = clock(elapsed);
  let fraction = null;
  let goal = '';
  if (state.phase_min_s) {
    const min = state.phase_min_s * 1000;
    fraction = Math.min(1, elapsed / min);
    goal = elapsed < min ? `${minutes(min - elapsed)} to go` : `${Math.round(min / 60000)} min reached`;
  } else if (state.phase_ends_at) {
    const left = Math.max(0, Date.parse(state.phase_ends_at) - now);
    fraction = elapsed + left > 0 ? elapsed / (elapsed + left) : 1;
    goal = `moves on in ${minutes(left)}`;
  } else {
    goal = 'waits for you';
  }
  if (state.paused) goal = 'paused';
  const dial = $('dial');
  dial.classList.toggle('open', fraction == null);
  if (fraction != null) {
    const arc = $('arc');
    arc.setAttribute('stroke-dasharray', `${(fraction * RING).toFixed(2)} ${RING.toFixed(2)}`);
  }
  $('goal').textContent = goal;
}

function renderCeremonies(list) {
  const box = $('ceremonies');
  const key = JSON.stringify(list);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  for (const c of list) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'ceremony';
    b.dataset.id = c.id;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = c.title || c.id;
    const sub = document.createElement('span');
    sub.className = 'sub';
    sub.textContent = 'tap twice to begin';
    b.append(label, sub);
    b.addEventListener('click', twice(b, 'tap again to begin', () => send(`start ${c.id}`)));
    box.append(b);
  }
  if (!control) box.replaceChildren();
  if (!list.length) note('The library has no ceremony for this room.');
}

async function send(command) {
  try {
    const r = await fetch('/cmd', {
      method: 'POST',
      body: command,
      headers: { 'Content-Type': 'text/plain' },
      credentials: 'same-origin',
    });
    if (r.status === 401) note('This phone is not paired any more. Scan the room’s QR code again.');
    else if (!r.ok) note((await r.text()).trim());
    else note('');
    if (navigator.vibrate) navigator.vibrate(15);
  } catch (_) {
    note('Not sent: the room is out of reach.');
  }
}

// A tap handler for `button`: the first tap arms it (showing `armedText`), a second within
// a few seconds fires.
function twice(button, armedText, fire) {
  const sub = button.querySelector('.sub');
  const rest = sub ? sub.textContent : '';
  let armedUntil = 0;
  let timer = 0;
  const disarm = () => {
    armedUntil = 0;
    button.classList.remove('armed');
    if (sub) sub.textContent = rest;
  };
  return () => {
    if (performance.now() < armedUntil) {
      clearTimeout(timer);
      disarm();
      fire();
      return;
    }
    armedUntil = performance.now() + SECOND_TAP_MS;
    button.classList.add('armed');
    if (sub) sub.textContent = armedText;
    timer = setTimeout(disarm, SECOND_TAP_MS);
  };
}

// Fires `button` after a hold of `ms`; the button fills as it is held. A short press calls
// `onTap` instead, if given.
function hold(button, ms, fire, onTap) {
  let start = 0;
  let frame = 0;
  let fired = false;
  const show = (f) => button.style.setProperty('--held', f.toFixed(3));
  const step = () => {
    const f = Math.min(1, (performance.now() - start) / ms);
    show(f);
    if (f >= 1) {
      fired = true;
      start = 0;
      show(0);
      fire();
      return;
    }
    frame = requestAnimationFrame(step);
  };
  const end = (tapped) => {
    if (!start) return;
    cancelAnimationFrame(frame);
    start = 0;
    show(0);
    if (tapped && onTap) onTap();
  };
  button.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    fired = false;
    start = performance.now();
    frame = requestAnimationFrame(step);
  });
  button.addEventListener('pointerup', () => end(true));
  button.addEventListener('pointercancel', () => end(false));
  button.addEventListener('pointerleave', () => end(false));
  button.addEventListener('contextmenu', (e) => e.preventDefault());
  // A keyboard press (no pointer) counts as a tap.
  button.addEventListener('click', (e) => {
    if (e.detail === 0 && onTap && !fired) onTap();
  });
}

function setup() {
  for (const id of ['softer', 'louder']) {
    $(id).addEventListener('click', () => send(id));
  }
  $('pause').addEventListener('click', () => send(state && state.paused ? 'resume' : 'pause'));
  const next = $('next');
  hold(next, HOLD_NEXT_MS, () => send('next'), twice(next, 'tap again for next', () => send('next')));
  hold($('stop'), HOLD_STOP_MS, () => send('stop'), () => note('Hold Stop to fade the room out.'));
  setInterval(tick, 1000);
  connect();
}

setup();

// The dashboard's side of the live feed (livefeed.js speaks the protocol): batched
// re-rendering, the open detail kept current, the red-alarm cue.

import { state, $, t, inLang } from './core.js';
import { openFeed } from './livefeed.js';
import { setConn, renderAll, renderList, refreshOverview, renderMapMarkers } from './views.js';
import { loadDetail, onReading } from './detail.js';
import { signOut } from './main.js';

// ---------- live feed ----------
export function connect() {
  openFeed({
    status: setConn,
    authenticated: (ws, m) => {
      if (state.chart) ws.send(JSON.stringify({ type: 'subscribe_readings', sensors: [state.chart.sensor] }));
    },
    snapshot: renderAll,
    event: onAlarmEvent,
    reading: onReading,
    rejected: () => { signOut(); $('#signin-error').textContent = t('bad_key'); },
  });
}

function onAlarmEvent(m) {
  const a = m.alarm;
  if (['raised', 'escalated', 'reactivated'].includes(m.event)) {
    state.fresh.add(a.id);
    if (a.level === 'red') redCue(a);
  }
  scheduleRender();
  scheduleOverview();
  if (state.selected === a.id) loadDetail(a.id);
}

let renderPending = false;
export function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderList(); renderMapMarkers(); });
}

export function scheduleOverview() {
  if (state.overviewTimer) return;
  state.overviewTimer = setTimeout(() => { state.overviewTimer = null; refreshOverview(); }, 1000);
}

// ---------- cues ----------
let audio = null;
export function redCue(a) {
  const flash = $('#flash');
  flash.classList.remove('on');
  void flash.offsetWidth;  // restart the animation
  flash.classList.add('on');
  flash.textContent = '';
  flash.dataset.last = `${t('new_red')}: ${inLang(a.title)}`;
  document.title = `🔴 ${t('new_red')} · CityGuard`;
  setTimeout(() => { document.title = 'CityGuard · 城市安全风险监测预警'; }, 10000);
  if (!state.sound) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    for (let i = 0; i < 3; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.3 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.3 + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.3);
      osc.stop(now + i * 0.3 + 0.22);
    }
  } catch (_) { /* no audio device: the visual cue is enough */ }
}

// The live feed's protocol, for every page that follows it (the dashboard, the cockpit): one
// WebSocket to /api/v1/feed (authenticated by the session cookie), subscribe, and after a dropped connection a resume with
// `since` so that no event is missed; back-off between attempts. It keeps state.alarms (the
// alarms not closed) and state.lastSeq, and tells the page through callbacks; it touches no
// element of the page.

import { state } from './core.js';

// hooks: status(s) with 'connecting' | 'live' | 'off'; authenticated(ws, message);
// snapshot(); event(message) after state.alarms took it; reading(message); rejected().
export function openFeed(hooks) {
  if (!state.who) return;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/feed`);
  state.ws = ws;
  hooks.status('connecting');
  // The session cookie went along with the upgrade: the server answers "authenticated" at once.
  const subscribe = () =>
    ws.send(JSON.stringify(state.lastSeq > 0 ? { type: 'subscribe', since: state.lastSeq } : { type: 'subscribe' }));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    switch (m.type) {
      case 'authenticated':
        subscribe();
        if (hooks.authenticated) hooks.authenticated(ws, m);
        break;
      case 'snapshot':
        state.alarms = new Map(m.alarms.map((a) => [a.id, a]));
        state.lastSeq = m.seq;
        state.retry = 0;
        hooks.status('live');
        if (hooks.snapshot) hooks.snapshot();
        break;
      case 'resumed':
        state.lastSeq = Math.max(state.lastSeq, m.seq);
        state.retry = 0;
        hooks.status('live');
        break;
      case 'alarm_event': {
        if (m.seq <= state.lastSeq) return;
        state.lastSeq = m.seq;
        const a = m.alarm;
        if (a.status === 'closed') state.alarms.delete(a.id); else state.alarms.set(a.id, a);
        if (hooks.event) hooks.event(m);
        break;
      }
      case 'reading':
        if (hooks.reading) hooks.reading(m);
        break;
      case 'error':
        console.warn('feed error', m.code, m.message);
        // The server at its limits (or without its database) did not start the subscription:
        // ask again after a back-off, on the same connection.
        if ((m.code === 'overloaded' || m.code === 'unavailable') && /^subscription not started/.test(m.message || '')) {
          const delay = Math.min(10000, 500 * 2 ** state.retry++);
          setTimeout(() => { if (state.ws === ws && ws.readyState === WebSocket.OPEN) subscribe(); }, delay);
        }
        break;
      default:
        break;
    }
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    hooks.status('off');
    if (ev.code === 4401 || ev.code === 4403) { if (hooks.rejected) hooks.rejected(); return; }
    // Back off a little; the resume position makes the reconnect lossless.
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    setTimeout(() => openFeed(hooks), delay);
  };
}

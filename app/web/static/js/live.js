// The one websocket a signed-in page keeps open: events in order, resumed after any drop.
import { api } from './api.js';

export class Live extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.lastId = null;      // the last event id processed; sent back when reconnecting
    this.state = 'offline';  // offline | connecting | online
    this.outbox = [];        // messages sent while offline go out after the reconnect
    this.pending = [];       // signal events not yet taken by a session view
    this.stopped = false;
    this.retry = 0;
    this.timer = null;
    window.addEventListener('online', () => this.reconnectNow());
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  async start() {
    this.stopped = false;
    if (this.state !== 'offline') return;
    this.setState('connecting');
    try {
      const { ticket } = await api('/api/live/ticket', { method: 'POST' });
      let url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?ticket=${encodeURIComponent(ticket)}`;
      if (this.lastId !== null) url += `&last_event_id=${this.lastId}`;
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onmessage = (m) => this.receive(JSON.parse(m.data));
      ws.onclose = () => { if (this.ws === ws) { this.ws = null; this.setState('offline'); this.schedule(); } };
    } catch (e) {
      this.setState('offline');
      if (e.status === 401) { this.dispatchEvent(new CustomEvent('signed_out')); return; }
      this.schedule();
    }
  }

  schedule() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const delay = Math.min(5000, 300 * 2 ** this.retry++);
    this.timer = setTimeout(() => this.start(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.state !== 'offline') return;
    clearTimeout(this.timer);
    this.retry = 0;
    this.start();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.setState('offline');
  }

  receive(frame) {
    if (frame.type === 'hello') {
      if (this.lastId === null) this.lastId = frame.last_event_id;
      this.retry = 0;
      this.setState('online');
      const out = this.outbox.splice(0);
      out.forEach((m) => this.send(m));
    } else if (frame.type === 'ping') {
      this.send({ type: 'pong' });
    } else if (frame.type === 'event') {
      if (this.lastId !== null && frame.id <= this.lastId) return;  // already processed
      this.lastId = frame.id;
      if (frame.kind === 'signal') this.pending.push(frame.data);
      this.dispatchEvent(new CustomEvent(frame.kind, { detail: frame.data }));
      this.dispatchEvent(new CustomEvent('any', { detail: frame }));
    } else if (frame.type === 'class_state') {  // the reply to class_join (views/classes.js)
      this.dispatchEvent(new CustomEvent('class_state', { detail: frame }));
    } else if (frame.type === 'error') {
      if (frame.error === 'ResumeGap') {
        this.lastId = frame.latest;
        this.dispatchEvent(new CustomEvent('resync'));
      }
      this.dispatchEvent(new CustomEvent('server_error', { detail: frame }));
    }
  }

  /** Send a client message; kept for the reconnect when the socket is down. */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === 'online') this.ws.send(JSON.stringify(msg));
    else if (msg.type !== 'pong' && msg.type !== 'ping') this.outbox.push(msg);
  }

  /** Signals already received for a session (the offer can arrive before its view is shown). */
  takeSignals(sessionId) {
    const mine = this.pending.filter((s) => s.session_id === sessionId);
    this.pending = this.pending.filter((s) => s.session_id !== sessionId);
    return mine;
  }

  on(kind, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(kind, h);
    return () => this.removeEventListener(kind, h);
  }
}

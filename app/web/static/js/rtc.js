// The peer-to-peer call of a session: audio both ways, negotiated over the live websocket.
// The student makes the offer; if the connection fails, the student restarts ICE by itself.
import { api } from './api.js';

export class Call extends EventTarget {
  constructor(live, sessionId, role) {
    super();
    this.live = live;
    this.sessionId = sessionId;
    this.role = role;                // 'student' offers, 'tutor' answers
    this.pc = null;
    this.stream = null;
    this.remoteSet = false;
    this.candidates = [];            // candidates that arrived before the remote description
    this.reported = null;
    this.restartTimer = null;
    this.closed = false;
    this.audio = new Audio();
    this.audio.autoplay = true;
  }

  async start() {
    const { ice_servers: iceServers } = await api('/api/live/ice-servers').catch(() => ({ ice_servers: [] }));
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      this.stream.getTracks().forEach((tr) => this.pc.addTrack(tr, this.stream));
    } catch (e) {
      // No microphone (or refused): still receive the other side's audio.
      this.pc.addTransceiver('audio', { direction: 'recvonly' });
      this.emit('mic', 'unavailable');
    }
    this.pc.ontrack = (e) => { this.audio.srcObject = e.streams[0] || new MediaStream([e.track]); this.audio.play().catch(() => {}); };
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.signal('candidate', { candidate: e.candidate.toJSON() });
    };
    this.pc.onconnectionstatechange = () => this.connectionChanged();
    if (this.role === 'student') await this.offer(false);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  signal(kind, extra) { this.live.send({ type: 'signal', session_id: this.sessionId, kind, ...extra }); }

  async offer(iceRestart) {
    const desc = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(desc);
    this.signal(iceRestart ? 'ice_restart' : 'offer', { sdp: this.pc.localDescription.sdp });
  }

  async onSignal(s) {
    if (!this.pc || this.closed) return;
    if (s.kind === 'offer' || s.kind === 'ice_restart') {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: s.sdp });
      await this.flushCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.signal('answer', { sdp: this.pc.localDescription.sdp });
    } else if (s.kind === 'answer') {
      if (this.pc.signalingState !== 'have-local-offer') return;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: s.sdp });
      await this.flushCandidates();
    } else if (s.kind === 'candidate' && s.candidate) {
      if (this.remoteSet) await this.pc.addIceCandidate(s.candidate).catch(() => {});
      else this.candidates.push(s.candidate);
    }
  }

  async flushCandidates() {
    this.remoteSet = true;
    for (const c of this.candidates.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
  }

  connectionChanged() {
    const st = this.pc.connectionState;
    this.emit('state', st);
    if (st === 'connected') {
      clearTimeout(this.restartTimer);
      this.report('connected');
    } else if (st === 'disconnected' || st === 'failed') {
      this.report('disconnected');
      // The student's side repairs the path: an ICE restart, again every 5 s while it stays down.
      if (this.role === 'student') {
        clearTimeout(this.restartTimer);
        const restart = () => {
          if (this.closed || this.pc.connectionState === 'connected') return;
          this.offer(true).catch(() => {});
          this.restartTimer = setTimeout(restart, 5000);
        };
        this.restartTimer = setTimeout(restart, st === 'failed' ? 0 : 2000);
      }
    }
  }

  report(state) {
    if (this.reported === state) return;
    this.reported = state;
    this.live.send({ type: 'media', session_id: this.sessionId, state });
  }

  /** After our websocket came back: tell the server our media state again. */
  reannounce() { const s = this.reported; this.reported = null; if (s) this.report(s); }

  setMuted(muted) { if (this.stream) this.stream.getAudioTracks().forEach((tr) => { tr.enabled = !muted; }); }

  /** Audio packets received from the other side so far (getStats inbound-rtp). */
  async inboundPackets() {
    if (!this.pc) return 0;
    let n = 0;
    (await this.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived || 0; });
    return n;
  }

  close() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    if (this.stream) this.stream.getTracks().forEach((tr) => tr.stop());
    if (this.pc) this.pc.close();
    this.audio.srcObject = null;
  }
}

// The shared whiteboard: a 10000×10000 board drawn on a square canvas. Pointer events cover
// mouse, touch and pen alike; each finished stroke goes to the other side over the websocket.
const SIZE = 10000;

export class Board extends EventTarget {
  constructor(canvas, { onStroke, onAction, readOnly = false } = {}) {
    super();
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.strokes = [];            // [{id, from, tool, color, width, points}] in drawing order
    this.tool = 'pen';
    this.color = '#1d2330';
    this.width = 4;
    this.drawing = null;
    this.mine = [];               // ids of my strokes, for undo
    this.counter = 0;
    this.onStroke = onStroke;
    this.onAction = onAction;
    this.readOnly = readOnly;   // a past session's board: shown, not drawn on
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(canvas);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    this.fit();
  }

  fit() {
    const r = this.canvas.getBoundingClientRect();
    const px = Math.max(1, Math.round(r.width * (window.devicePixelRatio || 1)));
    if (this.canvas.width !== px) { this.canvas.width = px; this.canvas.height = px; this.render(); }
  }

  toBoard(e) {
    const r = this.canvas.getBoundingClientRect();
    const clamp = (v) => Math.max(0, Math.min(SIZE, Math.round(v)));
    return [clamp(((e.clientX - r.left) / r.width) * SIZE), clamp(((e.clientY - r.top) / r.height) * SIZE)];
  }

  down(e) {
    if (this.readOnly) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    const tool = e.button === 5 || (e.buttons & 32) ? 'eraser' : this.tool;  // a pen's eraser end
    this.drawing = { id: `s-${Date.now().toString(36)}-${this.counter++}`, from: 'me', tool, color: this.color,
                     width: tool === 'eraser' ? Math.max(24, this.width * 5) : this.width, points: [this.toBoard(e)] };
    this.strokes.push(this.drawing);
  }

  move(e) {
    if (!this.drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of (events.length ? events : [e])) {
      const p = this.toBoard(ev);
      const last = this.drawing.points[this.drawing.points.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) >= 8) this.drawing.points.push(p);
    }
    if (this.drawing.points.length >= 1990) this.up(e);  // the protocol's limit: continue as a new stroke
    this.render();
  }

  up() {
    const s = this.drawing;
    if (!s) return;
    this.drawing = null;
    this.mine.push(s.id);
    this.render();
    if (this.onStroke) this.onStroke({ id: s.id, tool: s.tool, color: s.color, width: s.width, points: s.points });
  }

  /** A stroke from the other side. */
  addRemote(d) { this.replay(d, d.from); }

  /** A stroke from the transcript or the other side; `from` is 'me' for my own (undoable) strokes. */
  replay(d, from) {
    if (this.strokes.some((s) => s.id === d.id && s.from === from)) return;
    this.strokes.push({ id: d.id, from, tool: d.tool, color: d.color, width: d.width, points: d.points });
    if (from === 'me') this.mine.push(d.id);
    this.render();
  }

  remoteAction(d) {
    if (d.action === 'clear') this.strokes = [];
    else if (d.action === 'undo') this.strokes = this.strokes.filter((s) => !(s.id === d.stroke_id && s.from === d.from));
    this.render();
  }

  undo() {
    const id = this.mine.pop();
    if (!id) return;
    this.strokes = this.strokes.filter((s) => !(s.id === id && s.from === 'me'));
    this.render();
    if (this.onAction) this.onAction({ action: 'undo', stroke_id: id });
  }

  clear() {
    this.strokes = [];
    this.mine = [];
    this.render();
    if (this.onAction) this.onAction({ action: 'clear' });
  }

  render() {
    const { ctx, canvas } = this;
    const k = canvas.width / SIZE;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const s of this.strokes) {
      ctx.save();
      ctx.globalCompositeOperation = s.tool === 'eraser' ? 'destination-out' : 'source-over';
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.lineWidth = Math.max(1, s.width * canvas.width / 500);
      ctx.beginPath();
      const [x0, y0] = s.points[0];
      ctx.moveTo(x0 * k, y0 * k);
      if (s.points.length === 1) ctx.lineTo(x0 * k + 0.1, y0 * k);
      for (const [x, y] of s.points.slice(1)) ctx.lineTo(x * k, y * k);
      ctx.stroke();
      ctx.restore();
    }
  }

  /** Is anything drawn at board point (x, y)? (used by tests and the empty-board hint) */
  inkAt(x, y) {
    const k = this.canvas.width / SIZE;
    return this.ctx.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data[3] > 0;
  }

  destroy() { this.resize.disconnect(); }
}

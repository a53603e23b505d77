// The HTTP API: bearer tokens kept in localStorage, refreshed once on expiry.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || 'Network';
    this.detail = body && body.detail;
    this.extra = body || {};
  }
}

let tokens = JSON.parse(localStorage.getItem('tokens') || 'null');
let refreshing = null;

export function signedIn() { return !!tokens; }

function keep(t) {
  tokens = t;
  if (t) localStorage.setItem('tokens', JSON.stringify(t)); else localStorage.removeItem('tokens');
}

async function refresh() {
  if (!tokens) return false;
  refreshing ??= fetch('/api/auth/refresh', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: tokens.refresh_token }),
  }).then(async (r) => { if (r.ok) { keep(await r.json()); return true; } keep(null); return false; })
    .catch(() => false).finally(() => { refreshing = null; });
  return refreshing;
}

/** api('/api/x', {method, json, form, blob}) → parsed JSON (or a Blob), or throws ApiError. */
export async function api(path, { method = 'GET', json, form, blob = false, retry = true } = {}) {
  const headers = {};
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  let body;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  if (form) body = form;
  let r;
  try {
    r = await fetch(path, { method, headers, body });
  } catch (e) {
    throw new ApiError(0, { error: 'Network', detail: String(e) });
  }
  if (r.status === 401 && retry && tokens) {
    const b = await r.clone().json().catch(() => ({}));
    if (b.error === 'TokenExpired' && await refresh()) return api(path, { method, json, form, blob, retry: false });
  }
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({ error: `HTTP${r.status}` })));
  if (blob) return r.blob();
  if (r.status === 204) return null;
  const type = r.headers.get('content-type') || '';
  return type.includes('json') ? r.json() : r.text();
}

export async function signIn(username, password) {
  keep(await api('/api/auth/sign-in', { method: 'POST', json: { username, password } }));
  return api('/api/auth/me');
}

export async function signOut() {
  try { await api('/api/auth/sign-out', { method: 'POST' }); } catch { /* signed out anyway */ }
  keep(null);
}

/** An image behind auth as an object URL for <img src>. */
const imageCache = new Map();
export async function imageUrl(url) {
  if (!imageCache.has(url)) imageCache.set(url, api(url, { blob: true }).then((b) => URL.createObjectURL(b)));
  return imageCache.get(url);
}

export async function uploadImage(file) {
  const form = new FormData();
  form.append('file', file);
  return api('/api/images', { method: 'POST', form });
}

/** Seconds to add to Date.now() to get the server's clock (the cap countdown uses it). */
export let clockOffset = 0;
export async function syncClock() {
  const w = await api('/api/service-window');
  clockOffset = new Date(w.now).getTime() - Date.now();
  return w;
}
export function serverNow() { return Date.now() + clockOffset; }

/** PUT a file as the raw request body, reporting upload progress (0..1) — fetch cannot. */
export function putFileWithProgress(path, file, onProgress, retry = true) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('PUT', path);
    if (tokens) x.setRequestHeader('Authorization', `Bearer ${tokens.access_token}`);
    x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = async () => {
      let body = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status === 401 && retry && body && body.error === 'TokenExpired' && await refresh()) {
        resolve(putFileWithProgress(path, file, onProgress, false));
      } else if (x.status >= 200 && x.status < 300) resolve(body);
      else reject(new ApiError(x.status, body || { error: `HTTP${x.status}` }));
    };
    x.onerror = () => reject(new ApiError(0, { error: 'Network', detail: 'upload failed' }));
    x.send(file);
  });
}

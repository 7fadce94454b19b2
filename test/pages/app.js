// The fixture app: buttons that fetch, throw and block; helpers the tests call.
const api = document.querySelector('meta[name="api"]').content;
const other = document.querySelector('meta[name="other"]').content;
const out = document.getElementById('out');

// Called before the tracer is ready: queued by the script-tag build and replayed.
if (window.wasmtrace) {
  const early = window.wasmtrace.startSpan('early');
  early.setAttribute('queued', true);
  early.end();
}

// ?boot: the requests an app makes as it starts, before the tracer is ready
// (the script tag's loader records them); when each went out, and when the
// tracer became ready, for the test to compare.
if (new URLSearchParams(location.search).has('boot')) {
  window.wasmtrace?.ready.then(() => { window.readyAt = performance.now(); });
  window.bootAt = performance.now();
  window.boot = Promise.all([
    fetch(api + '/api/data?from=boot').then((r) => r.status),
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', api + '/api/data?from=boot-xhr');
      xhr.onloadend = () => resolve(xhr.status);
      xhr.send();
    }),
    fetch(other + '/other/data?from=boot-other').then((r) => r.status),
  ]);
}

document.getElementById('load').addEventListener('click', () => {
  fetch(api + '/api/data?from=click')
    .then((r) => r.json())
    .then((d) => { out.textContent = String(d.ok); });
});
document.getElementById('boom').addEventListener('click', () => {
  throw new Error('boom from click');
});
document.getElementById('slow').addEventListener('click', () => {
  const until = performance.now() + 80; // a slow interaction, so INP has an entry
  while (performance.now() < until) { /* busy */ }
  out.textContent = 'slow done';
});
document.getElementById('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const xhr = new XMLHttpRequest();
  xhr.open('POST', api + '/api/data?from=submit');
  xhr.send('q=x');
});

window.app = {
  fetchApi: () => fetch(api + '/api/data?from=direct').then((r) => r.text()),
  // A method the API's CORS answer does not allow: the fetch fails (TypeError).
  fetchCustom: () => fetch(api + '/api/data?from=custom', { method: 'PURGE' }).then(() => 'ok', (e) => e.name),
  fetchOther: () => fetch(other + '/other/data').then((r) => r.text()),
  xhrApi: () => new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', api + '/api/data?from=xhr');
    xhr.onloadend = () => resolve(xhr.status);
    xhr.send();
  }),
  throwLater: () => setTimeout(() => { throw new TypeError('thrown later'); }, 0),
  rejectLater: () => { Promise.reject(new RangeError('rejected on purpose')); },
  spans: (run, n) => {
    for (let i = 0; i < n; i++) {
      const s = window.wasmtrace.startSpan('work', { attributes: { 'test.run': run, 'test.i': i } });
      s.setAttribute('payload', 'x'.repeat(64));
      s.end();
    }
  },
  pushState: (path) => history.pushState({}, '', path),
};

// A late banner that pushes the content down: a layout shift for CLS.
window.addEventListener('load', () => setTimeout(() => {
  const banner = document.createElement('p');
  banner.textContent = 'A banner that arrived late and shifted the page.';
  banner.style.height = '120px';
  document.body.prepend(banner);
}, 50));

// Page-load baseline: the same page and the same marker, no tracing SDK.
window.addEventListener('load', () => {
  void document.querySelectorAll('li').length;
  window.benchDone = true;
});

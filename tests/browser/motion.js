// The elements of the page that move: a transition or an animation longer than 20 ms (run by
// tests/browser/audit.rs, which asks for prefers-reduced-motion: reduce, where none may move).
const seconds = (list) => Math.max(...list.split(',').map((v) => parseFloat(v) * (v.trim().endsWith('ms') ? 0.001 : 1)));
return [...document.querySelectorAll('*')]
  .filter((el) => {
    const style = getComputedStyle(el);
    return seconds(style.transitionDuration) > 0.02
      || (style.animationName !== 'none' && seconds(style.animationDuration) > 0.02);
  })
  .slice(0, 5)
  .map((el) => el.tagName.toLowerCase() + [...el.classList].map((c) => '.' + c).join(''));

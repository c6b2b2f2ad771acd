// The layout problems of the page as it is laid out now (run by tests/browser/audit.rs through
// WebDriver): the page scrolling sideways, and the navbar's links, buttons and tags cut off by
// the viewport's edges, clipping their own text, or overlapping each other. Returns a list of
// sentences, empty when the page is right.
window.scrollTo(0, 0);
const root = document.documentElement;
const width = root.clientWidth;
const problems = [];
const describe = (el) => {
  let name = el.tagName.toLowerCase();
  if (el.id) name += '#' + el.id;
  const classes = [...el.classList].slice(0, 3).join('.');
  if (classes) name += '.' + classes;
  const text = (el.innerText || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return text ? `${name} "${text}"` : name;
};
const box = (el) => el.getBoundingClientRect();
const shown = (el) => {
  const r = box(el);
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
};
// Inside a box that clips or scrolls sideways: it cannot push the page wider.
const clipped = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true;
  }
  return false;
};
const innermost = (els) => els.filter((el) => !els.some((other) => other !== el && el.contains(other)));

if (root.scrollWidth > width) {
  const wide = innermost([...document.body.querySelectorAll('*')]
    .filter((el) => shown(el) && box(el).right > width + 0.5 && !clipped(el)));
  problems.push(`the page scrolls sideways (${root.scrollWidth} px of content in ${width} px): `
    + wide.slice(0, 5).map(describe).join(', '));
}

const nav = document.querySelector('nav.navbar');
if (nav) {
  const items = innermost([...nav.querySelectorAll('a, button, .tag')].filter(shown));
  for (const el of items) {
    const r = box(el);
    if (r.left < -0.5 || r.right > width + 0.5 || r.top < -0.5) {
      problems.push(`navbar: ${describe(el)} is cut off by the edge of the window `
        + `(${Math.round(r.left)}..${Math.round(r.right)} px of ${width})`);
    }
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`navbar: ${describe(el)} clips its content `
        + `(${el.scrollWidth} px in ${el.clientWidth})`);
    }
  }
  for (let i = 0; i < items.length; i += 1) {
    for (let j = i + 1; j < items.length; j += 1) {
      const a = box(items[i]);
      const b = box(items[j]);
      const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (x > 1 && y > 1) {
        problems.push(`navbar: ${describe(items[i])} overlaps ${describe(items[j])}`);
      }
    }
  }
}
return problems;

// Small behaviour for QuickScale pages. Alpine's CSP build evaluates no strings as code, so
// components are registered here and referenced by name in the templates.
document.addEventListener('alpine:init', () => {
  // The navbar burger on small screens.
  Alpine.data('navbar', () => ({
    expanded: false,
    toggle() { this.expanded = !this.expanded; },
    get burgerClass() { return this.expanded ? 'is-active' : ''; },
    get menuClass() { return this.expanded ? 'is-active' : ''; },
  }));
  // A notification with a close button.
  Alpine.data('dismissable', () => ({
    open: true,
    dismiss() { this.open = false; },
  }));
});

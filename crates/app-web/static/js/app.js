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
  // A form that asks before it posts (the `post_button` component with `confirm`): submitting
  // opens its <dialog>; "Cancel" or Escape closes it, the confirming button posts the form.
  // Without JavaScript the form posts at once.
  Alpine.data('confirm', () => ({
    confirmed: false,
    ask(event) {
      if (this.confirmed) return;
      event.preventDefault();
      this.$refs.dialog.showModal();
    },
    cancel() { this.$refs.dialog.close(); },
    proceed() {
      this.confirmed = true;
      this.$refs.dialog.close();
      this.$root.requestSubmit();
    },
  }));
});

// After a refused form, the first field in error has the focus (it is aria-invalid and names its
// error in aria-describedby), so a keyboard or screen reader user starts where the fix is.
document.addEventListener('DOMContentLoaded', () => {
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
});

// A result swapped in by HTMX (a service run) takes the focus when its container asks for it
// (data-focus-after-swap, tabindex="-1"): the next Tab continues from the result, and its
// aria-live region has announced it.
document.addEventListener('htmx:afterSettle', (event) => {
  const target = event.detail.target;
  if (target instanceof HTMLElement && target.hasAttribute('data-focus-after-swap')) {
    target.focus();
  }
});

// Field errors on the page that are not tied to their field (run by tests/browser/audit.rs):
// every field marked aria-invalid names existing elements in aria-describedby, and every
// field error (Bulma's .help.is-danger) is named by the aria-describedby of a field in error.
// Returns a list of sentences, empty when the page is right.
const problems = [];
const described = new Set();
for (const field of document.querySelectorAll('[aria-invalid="true"]')) {
  const ids = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  const name = field.id || field.name || field.tagName.toLowerCase();
  if (ids.length === 0) problems.push(`the field ${name} is in error but names no description`);
  for (const id of ids) {
    if (!document.getElementById(id)) problems.push(`the field ${name} names a missing description #${id}`);
    described.add(id);
  }
}
for (const error of document.querySelectorAll('.help.is-danger')) {
  if (!error.id || !described.has(error.id)) {
    problems.push(`the error "${error.textContent.trim().slice(0, 60)}" is tied to no field in error`);
  }
}
return problems;

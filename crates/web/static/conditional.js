// Progressive enhancement for conditional questions on the same step: a field marked
// data-show-if="other_key" data-show-if-value="v" is shown only while the answer to
// other_key is v. Hidden fields are disabled so they are not sent; the server decides
// anyway (it ignores answers to questions that do not apply). Without JavaScript every
// field stays visible with its "Chỉ trả lời nếu…" hint.
(function () {
  'use strict';
  var form = document.querySelector('form[action*="/edit"]');
  if (!form) return;
  var dependents = form.querySelectorAll('[data-show-if]');
  if (!dependents.length) return;

  function currentValue(name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    var value = null;
    inputs.forEach(function (el) {
      if (el.type === 'radio' || el.type === 'checkbox') {
        if (el.checked) value = el.type === 'checkbox' && el.value === 'on' ? 'true' : el.value;
      } else if (value === null) {
        value = el.value;
      }
    });
    return value;
  }

  function apply() {
    dependents.forEach(function (box) {
      var name = box.getAttribute('data-show-if');
      // A condition on another step: the server already left the field out or in.
      if (!form.querySelector('[name="' + name + '"]')) return;
      var show = currentValue(name) === box.getAttribute('data-show-if-value');
      box.hidden = !show;
      box.querySelectorAll('input, select, textarea, button').forEach(function (el) { el.disabled = !show; });
      var hint = box.querySelector('.show-if-hint');
      if (hint) hint.hidden = true;
    });
  }

  form.addEventListener('change', apply);
  apply();
})();

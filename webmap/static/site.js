// Switch base maps as soon as one is chosen; the button stays for browsers without scripts.
document.querySelectorAll('form.basemap select').forEach(function (select) {
  select.addEventListener('change', function () { select.form.submit(); });
});

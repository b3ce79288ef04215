// A household's card (/households/<code>): the visit form saves into the phone's outbox
// (static/outbox.js) and is sent from there with its Idempotency-Key, so that a visit recorded
// without a signal is sent once when it returns. Server text goes in with textContent only.
(function () {
  'use strict';
  const el = function (...args) { return window.slxEl(...args); };

  document.addEventListener('DOMContentLoaded', function () {
    const page = document.getElementById('household');
    const form = document.getElementById('visit-form');
    if (!page || !form || !window.slxOutbox) return;
    const outbox = window.slxOutbox;
    const code = page.dataset.code;
    const status = document.getElementById('visit-status');
    const errorBox = document.getElementById('visit-error');
    const follow = document.getElementById('v-follow');
    const incident = document.getElementById('v-incident');
    follow.addEventListener('change', function () { incident.hidden = !follow.checked; });
    form.elements.photo.addEventListener('change', function () {
      const file = form.elements.photo.files[0];
      document.getElementById('v-photo-name').textContent = file ? '已选：' + file.name : '';
    });

    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      errorBox.hidden = true;
      const f = form.elements;
      const body = {household_code: code, visited_at: new Date().toISOString(),
                    kind: f.kind.value, notes: f.notes.value.trim() || null,
                    follow_up: follow.checked};
      if (follow.checked) {
        if (!f.description.value.trim()) {
          errorBox.textContent = '需要跟进时请填写事件描述';
          errorBox.hidden = false;
          return;
        }
        body.incident_category = f.category.value;
        body.incident_description = f.description.value.trim();
      }
      const photo = follow.checked ? f.photo.files[0] || null : null;
      await outbox.put({key: outbox.newKey(), kind: 'visit', saved: Date.now(), body: body,
                        photo: photo, photoName: photo && photo.name});
      form.reset();
      incident.hidden = true;
      document.getElementById('v-photo-name').textContent = '';
      status.textContent = '走访已保存在本机，正在发送…';
      const sent = await outbox.flush();
      if (!sent && outbox.state.offline) {
        status.textContent = '走访已保存在本机：' + outbox.state.offline + '，恢复后自动发送';
      }
    });

    outbox.watch({
      message: function (text) { status.textContent = text; },
      changed: function (items, state) {
        const list = document.getElementById('outbox-list');
        list.textContent = '';
        for (const item of items.filter(function (i) { return i.kind === 'visit'; })) {
          const li = el('li', {class: item.refused ? 'refused' : 'waiting'},
                        '走访 ' + item.body.household_code + (item.refused ? '：未被接受 ' + item.refused
                                                                   : '：待发送'));
          if (item.refused) {
            const drop = el('button', {type: 'button', class: 'secondary'}, '删除');
            drop.addEventListener('click', function () { outbox.remove(item.key); });
            li.append(' ', drop);
          }
          list.append(li);
        }
        if (state.offline && items.some(function (i) { return !i.refused; })) {
          status.textContent = '待发送 ' + items.filter(function (i) { return !i.refused; }).length +
            ' 条（' + state.offline + '，恢复后自动发送）';
        }
      },
    });
  });
})();

// Shared by the pages' scripts. slxEl builds elements safely; slxApi is fetch() for the pages'
// own JSON API: it sends the CSRF token with changes made under the session cookie and turns an
// error response into an Error carrying the server's message.
(function () {
  'use strict';
  // styles that need a script (the phone's folding menu) apply only when scripts run
  document.documentElement.classList.add('js');

  // an element with attributes and children; text children are inserted as text, never HTML
  window.slxEl = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  };

  window.slxApi = async function (url, options) {
    options = Object.assign({}, options);
    if (options.method && options.method !== 'GET') {
      const meta = document.querySelector('meta[name=csrf-token]');
      options.headers = Object.assign({}, options.headers,
                                      {'X-CSRFToken': meta ? meta.content : ''});
    }
    const response = await fetch(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      const err = new Error((body && body.error) || response.statusText);
      err.status = response.status;
      err.body = body;
      throw err;
    }
    return body;
  };
})();

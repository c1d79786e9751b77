// mailhouse webmail: small enhancements over pages that work without
// script. Keyboard shortcuts, select-all, live updates (Server-Sent
// Events), address completion, message frame sizing, confirmations.
// The CSP allows this file only; no inline script, no eval.
(function () {
  'use strict';
  var body = document.body;
  var prefix = body.getAttribute('data-prefix') || '/mail';
  document.documentElement.classList.add('js');
  body.classList.add('js');

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // The one-time message fades after a while.
  var flash = $('#flash');
  if (flash) { setTimeout(function () { flash.classList.add('gone'); }, 7000); }

  // Buttons that destroy ask first.
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-confirm]');
    if (b && !window.confirm(b.getAttribute('data-confirm'))) { e.preventDefault(); }
  });

  // Open menus close on a click elsewhere or Escape.
  document.addEventListener('click', function (e) {
    $$('details.dd[open]').forEach(function (d) { if (!d.contains(e.target)) { d.open = false; } });
  });

  // Select all, and selected rows highlighted.
  function wireList() {
    var all = $('#select-all');
    if (all) {
      all.addEventListener('change', function () {
        $$('#msgs input[name=uid]').forEach(function (c) { c.checked = all.checked; mark(c); });
      });
    }
    $$('#msgs input[name=uid]').forEach(function (c) { c.addEventListener('change', function () { mark(c); }); });
  }
  function mark(c) { var li = c.closest('li'); if (li) { li.classList.toggle('sel', c.checked); } }
  wireList();

  // The message frame takes the height of its content (it is
  // same-origin and script-less). It is measured at a small height, so
  // that it can shrink, and capped, so that content sized by the frame's
  // own height cannot make it grow for ever.
  function sizeFrame(f) {
    try {
      var d = f.contentDocument;
      if (!d || !d.documentElement || d.readyState !== 'complete') { return; }
      var keep = window.scrollY;
      f.style.height = '40px';
      var h = Math.min(d.documentElement.scrollHeight, 50000);
      f.style.height = (h + 4) + 'px';
      window.scrollTo(0, keep);
    } catch (err) { /* leave the fixed height */ }
  }
  $$('iframe.html').forEach(function (f) {
    f.addEventListener('load', function () {
      sizeFrame(f);
      try {
        $$('img', f.contentDocument).forEach(function (im) { im.addEventListener('load', function () { sizeFrame(f); }); });
      } catch (err) { /* ignore */ }
    });
    sizeFrame(f);
  });
  window.addEventListener('resize', function () { $$('iframe.html').forEach(sizeFrame); });

  // Keyboard shortcuts.
  var rows = function () { return $$('#msgs li.msg'); };
  var focusIdx = -1;
  function focusRow(i) {
    var r = rows();
    if (!r.length) { return; }
    i = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (x) { x.classList.remove('focus'); });
    r[i].classList.add('focus');
    r[i].scrollIntoView({ block: 'nearest' });
    focusIdx = i;
  }
  function click(sel) { var el = $(sel); if (el) { el.click(); return true; } return false; }
  function go(sel) { var a = $(sel); if (a && a.href) { location.href = a.href; return true; } return false; }
  var keys = $('#keys');
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && t && t.form && t.form.id === 'compose-form') {
      e.preventDefault(); click('#send'); return;
    }
    if (e.key === 'Escape') {
      if (keys && !keys.hidden) { keys.hidden = true; return; }
      $$('details.dd[open]').forEach(function (d) { d.open = false; });
      if (t && t.blur && t.id === 'q') { t.blur(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var reading = !!$('#reader[data-uid]');
    switch (e.key) {
      case '?': if (keys) { keys.hidden = !keys.hidden; } break;
      case '/': e.preventDefault(); var q = $('#q'); if (q) { q.focus(); q.select(); } break;
      case 'c': go('#compose'); break;
      case 'j':
        if (reading) { go('#next'); } else { focusRow(focusIdx + 1); }
        break;
      case 'k':
        if (reading) { go('#prev'); } else { focusRow(focusIdx - 1); }
        break;
      case 'o': case 'Enter':
        if (!reading && focusIdx >= 0) { var a = $('a.row', rows()[focusIdx]); if (a) { location.href = a.href; } }
        break;
      case 'x':
        if (!reading && focusIdx >= 0) { var c = $('input[name=uid]', rows()[focusIdx]); if (c) { c.checked = !c.checked; mark(c); } }
        break;
      case 'u': go('#back'); break;
      case 'r': go('#reply'); break;
      case 'a': go('#reply-all'); break;
      case 'f': go('#forward'); break;
      case 'e': if (reading) { click('#act-archive'); } else { click('#bulk-archive'); } break;
      case '#': case 'Delete': if (reading) { click('#act-delete'); } else { click('#bulk-delete'); } break;
      case 's': if (reading) { click('#act-flag'); } break;
      default: return;
    }
  });

  // Live updates: when a folder changes, fetch this page again and swap
  // in the folder list and the message list (not while the user has
  // messages selected).
  if (window.EventSource && $('#folders')) {
    var pending = null;
    var refresh = function () {
      pending = null;
      fetch(location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html', 'X-Mailhouse-Refresh': '1' } }).then(function (r) {
        if (!r.ok || r.redirected) { return null; }
        return r.text();
      }).then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var nf = $('#folders', doc), of = $('#folders');
        if (nf && of) { of.innerHTML = nf.innerHTML; }
        var busy = $$('#msgs input[name=uid]').some(function (c) { return c.checked; });
        var nl = $('#msgs', doc), ol = $('#msgs');
        if (nl && ol && !busy) {
          ol.innerHTML = nl.innerHTML;
          var nc = $('#count', doc), oc = $('#count');
          if (nc && oc) { oc.innerHTML = nc.innerHTML; }
          wireList();
          if (focusIdx >= 0) { focusRow(focusIdx); }
        }
        document.title = doc.title;
      }).catch(function () { /* try again on the next event */ });
    };
    var es = new EventSource(prefix + '/events');
    es.addEventListener('mailbox', function () {
      if (!pending) { pending = setTimeout(refresh, 600); }
    });
    es.addEventListener('logout', function () { es.close(); location.reload(); });
  }

  // Address completion for To, Cc and Bcc: the word being typed after
  // the last comma is looked up among past correspondents.
  $$('input[data-complete]').forEach(function (input) {
    input.removeAttribute('list'); // our list replaces the browser's
    var box = document.createElement('ul');
    box.className = 'complete';
    box.hidden = true;
    input.parentNode.appendChild(box);
    var items = [], sel = -1, timer = null, seq = 0;
    function lastToken() {
      var v = input.value, i = Math.max(v.lastIndexOf(','), v.lastIndexOf(';'));
      return { head: v.slice(0, i + 1), tok: v.slice(i + 1).trim() };
    }
    function place() {
      box.style.left = input.offsetLeft + 'px';
      box.style.top = (input.offsetTop + input.offsetHeight) + 'px';
    }
    function show(list) {
      items = list; sel = -1;
      box.textContent = '';
      list.forEach(function (s, i) {
        var li = document.createElement('li');
        li.textContent = s.name || s.address;
        if (s.name) { var sp = document.createElement('span'); sp.textContent = s.address; li.appendChild(sp); }
        li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(i); });
        box.appendChild(li);
      });
      box.hidden = list.length === 0;
      place();
    }
    function pick(i) {
      var p = lastToken();
      var head = p.head ? p.head.replace(/\s*$/, ' ') : '';
      input.value = head + items[i].label + ', ';
      show([]);
      input.focus();
    }
    function highlight() { $$('li', box).forEach(function (li, i) { li.classList.toggle('on', i === sel); }); }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var tok = lastToken().tok;
      if (tok.length < 1) { show([]); return; }
      timer = setTimeout(function () {
        var my = ++seq;
        fetch(input.getAttribute('data-complete') + '?q=' + encodeURIComponent(tok), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (list) { if (my === seq) { show(Array.isArray(list) ? list : []); } })
          .catch(function () { show([]); });
      }, 120);
    });
    input.addEventListener('keydown', function (e) {
      if (box.hidden) { return; }
      if (e.key === 'ArrowDown') { e.preventDefault(); sel = (sel + 1) % items.length; highlight(); }
      else if (e.key === 'ArrowUp') { e.preventDefault(); sel = (sel - 1 + items.length) % items.length; highlight(); }
      else if ((e.key === 'Enter' || e.key === 'Tab') && sel >= 0) { e.preventDefault(); pick(sel); }
      else if (e.key === 'Escape') { show([]); }
    });
    input.addEventListener('blur', function () { setTimeout(function () { show([]); }, 150); });
  });
})();

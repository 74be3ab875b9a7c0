/* Let the ipywidgets HTML manager typeset math with MathJax 3.
 *
 * The widget manager (@jupyter-widgets/html-manager 1.0) typesets a widget's label with
 * the MathJax 2 API, MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), whenever
 * window.MathJax exists. The book loads MathJax 3, which has no Hub, so every widget
 * raised "Cannot read properties of undefined (reading 'Queue')". This keeps a small Hub
 * on whatever object window.MathJax is (the configuration first, then MathJax 3 itself,
 * which replaces it when it loads) and forwards Typeset requests to MathJax 3.
 */
(function () {
  "use strict";
  var pending = [];

  function flush() {
    var mj = window.MathJax;
    if (!mj || typeof mj.typesetPromise !== "function") {
      if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(flush);
      } else {
        window.setTimeout(flush, 100);
      }
      return;
    }
    var elements = pending.splice(0);
    if (elements.length) {
      mj.typesetPromise(elements).catch(function (err) { console.warn("MathJax typeset:", err); });
    }
  }

  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var cmd = arguments[i];
        if (Array.isArray(cmd) && cmd[0] === "Typeset" && cmd[2]) {
          pending.push(cmd[2]);
        }
      }
      flush();
    },
  };

  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      try { value.Hub = hub; } catch (e) { /* frozen object: leave it */ }
    }
    return value;
  }

  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();

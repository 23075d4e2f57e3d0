/* Interactive figures of the Message Passing website (mplib/interactive.py writes them).
 *
 * Loaded on every page (html_js_files in _config.yml). On a page that holds a
 * <figure class="mp-interactive">, it loads the site's own Plotly.js (/plotly/, staged by
 * web.mk from npm) once, then wires each figure: its controls are plain HTML form elements
 * (range sliders, radio buttons), and every change draws the frame of the new setting, which
 * the page computed with mplib at build time (the JSON in the figure's script element).
 * Nothing is computed here. Without JavaScript, or if Plotly cannot load, the figure's static
 * image stays in place (see mp-interactive.css).
 */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("mp-js");
  var here = document.currentScript && document.currentScript.src;
  var LIBRARY = new URL("../plotly/plotly-basic.min.js", here || window.location.href).href;
  var loading = null;

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = LIBRARY;
        s.onload = function () { resolve(window.Plotly); };
        s.onerror = function () { reject(new Error("could not load " + LIBRARY)); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function setup(figure, Plotly) {
    var spec = JSON.parse(figure.querySelector("script.mp-data").textContent);
    var plot = figure.querySelector(".mp-plot");
    var readout = figure.querySelector(".mp-readout");
    var config = {displaylogo: false, responsive: true,
                  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"]};
    var state = spec.controls.map(function (c) { return c.initial; });
    var timer = null;

    function render() {
      var key = state.join(",");
      var frame = spec.frames[key];
      var layout = Object.assign({}, spec.layout, frame.layout || {},
                                 {uirevision: spec.name});
      // a fresh copy: Plotly keeps (and annotates) the objects it is given, and frames share traces
      var data = JSON.parse(JSON.stringify(
        spec.static.concat(frame.data.map(function (k) { return spec.traces[k]; }))));
      figure.dataset.mpKey = key;
      readout.textContent = frame.readout;
      return Plotly.react(plot, data, layout, config).then(function () {
        figure.dataset.mpRendered = key;
      });
    }

    spec.controls.forEach(function (c, i) {
      var box = figure.querySelector('[data-mp-control="' + c.name + '"]');
      if (c.kind === "slider") {
        var input = box.querySelector("input[type=range]");
        var output = box.querySelector("output");
        var play = box.querySelector("button.mp-play");
        var show = function () {
          state[i] = Number(input.value);
          output.textContent = c.texts[state[i]];
          input.setAttribute("aria-valuetext", c.texts[state[i]]);
          render();
        };
        input.addEventListener("input", show);
        input.addEventListener("change", show);
        var stop = function () {
          clearInterval(timer);
          timer = null;
          play.textContent = "Play";
          play.setAttribute("aria-pressed", "false");
        };
        play.setAttribute("aria-pressed", "false");
        play.addEventListener("click", function () {
          if (timer) { stop(); return; }
          if (Number(input.value) >= Number(input.max)) input.value = "0";
          play.textContent = "Pause";
          play.setAttribute("aria-pressed", "true");
          show();
          timer = setInterval(function () {
            if (Number(input.value) >= Number(input.max)) { stop(); return; }
            input.value = String(Number(input.value) + 1);
            show();
          }, 700);
        });
      } else {
        box.querySelectorAll("input[type=radio]").forEach(function (radio) {
          radio.addEventListener("change", function () {
            if (!radio.checked) return;
            state[i] = Number(radio.value);
            render();
          });
        });
      }
    });
    return render();
  }

  function start() {
    var figures = document.querySelectorAll("figure.mp-interactive");
    if (!figures.length) return;
    loadPlotly().then(function (Plotly) {
      figures.forEach(function (figure) {
        try {
          setup(figure, Plotly).catch(function (err) {
            figure.classList.add("mp-failed");
            console.error("interactive figure " + figure.id + ": " + err);
          });
        } catch (err) {
          figure.classList.add("mp-failed");
          console.error("interactive figure " + figure.id + ": " + err);
        }
      });
    }, function (err) {
      figures.forEach(function (figure) { figure.classList.add("mp-failed"); });
      console.error(String(err));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

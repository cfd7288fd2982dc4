/* Draws every chart on the page from the JSON in its data-figure attribute (no inline script,
   so the strict content security policy holds). The table beside each chart stays available. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function draw() {
    if (!window.Plotly) { return; }
    var charts = document.querySelectorAll(".chart[data-figure]");
    Array.prototype.forEach.call(charts, function (el) {
      var figure;
      try { figure = JSON.parse(el.getAttribute("data-figure")); } catch (e) { return; }
      window.Plotly.newPlot(el, figure.data, figure.layout, {responsive: true, displayModeBar: false});
      el.classList.add("drawn");
      var table = el.parentNode.querySelector("details.chart-table");
      if (table) { table.open = false; }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

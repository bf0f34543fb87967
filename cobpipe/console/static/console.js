// Live balances on the secondary claim screen: each line's charge - paid - adjustments and the
// claim's, in whole cents (never floating point). The server checks everything again on Send.
(function () {
  "use strict";
  function cents(text) {
    var raw = String(text || "").replace(/[$,\s]/g, "");
    if (raw === "") return 0;
    var m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(raw);
    if (!m) return null;
    var value = parseInt(m[2], 10) * 100 + parseInt(((m[3] || "") + "00").slice(0, 2), 10);
    return m[1] ? -value : value;
  }
  function show(c) {
    var sign = c < 0 ? "-" : "";
    var abs = Math.abs(c);
    var whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "$" + sign + whole + "." + String(abs % 100).padStart(2, "0");
  }
  function mark(output, value) {
    if (!output) return;
    output.textContent = value === null ? "not a number" : show(value);
    output.classList.toggle("ok", value === 0);
    output.classList.toggle("bad", value !== 0);
  }
  function sum(nodes, pick) {
    var total = 0;
    for (var i = 0; i < nodes.length; i++) {
      if (pick && !pick(nodes[i])) continue;
      var c = cents(nodes[i].value);
      if (c === null) return null;
      total += c;
    }
    return total;
  }
  function recompute(form) {
    var charge = cents(form.dataset.charge);
    var paidTotal = 0, adjusted = 0, patient = 0, broken = false, allLines = true;
    var lines = form.querySelectorAll(".line");
    lines.forEach(function (line) {
      var n = line.dataset.line;
      var lineCharge = cents(line.querySelector(".line-charge").value);
      var paid = cents(line.querySelector(".line-paid").value);
      var adj = sum(line.querySelectorAll(".adj-amount"));
      var pr = sum(line.querySelectorAll(".adj-amount"), function (input) {
        var group = input.closest("tr").querySelector(".adj-group");
        return group && group.value === "PR";
      });
      var balance = (lineCharge === null || paid === null || adj === null) ? null : lineCharge - paid - adj;
      mark(document.getElementById("balance-" + n), balance);
      if (balance !== 0) allLines = false;
      if (paid === null || adj === null || pr === null) { broken = true; return; }
      paidTotal += paid; adjusted += adj; patient += pr;
    });
    var claimAdj = form.querySelectorAll(".claim-adjs .adj-amount");
    var cadj = sum(claimAdj);
    var cpr = sum(claimAdj, function (input) {
      var group = input.closest("tr").querySelector(".adj-group");
      return group && group.value === "PR";
    });
    if (!lines.length) {
      var claimPaid = document.getElementById("claim-paid");
      paidTotal = claimPaid ? cents(claimPaid.value) : 0;
      if (paidTotal === null) broken = true;
    }
    if (cadj === null || cpr === null) broken = true;
    var balance = broken || charge === null ? null : charge - paidTotal - adjusted - cadj;
    mark(document.getElementById("claim-balance"), balance);
    var paidOut = document.getElementById("total-paid");
    if (paidOut && !broken) paidOut.textContent = show(paidTotal);
    var adjOut = document.getElementById("total-adjusted");
    if (adjOut && !broken) adjOut.textContent = show(adjusted + cadj);
    var prOut = document.getElementById("total-pr");
    if (prOut && !broken) prOut.textContent = show(patient + cpr);
    var state = document.getElementById("live-state");
    var balanced = balance === 0 && allLines;
    if (state) state.textContent = balanced ? "Balanced: every line and the claim are $0.00."
                                            : "Not balanced yet: every line and the claim must be $0.00 before Send.";
    var send = document.getElementById("send");
    if (send) send.disabled = !balanced;
  }
  var texts = null;
  function describe(form) {
    // the words of each adjustment's group and reason as they are typed (the server's code lists)
    if (texts === null) {
      var data = document.getElementById("code-texts");
      try { texts = data ? JSON.parse(data.textContent) : {}; } catch (e) { texts = {}; }
    }
    form.querySelectorAll("tr.adj").forEach(function (row) {
      var group = row.querySelector(".adj-group").value;
      var reason = row.querySelector(".adj-reason").value.trim().toUpperCase();
      var words = (texts.group || {})[group] || "";
      if (reason) words += (words ? ": " : "") + ((texts.carc || {})[reason] || "unknown code " + reason);
      row.querySelector("td.text").textContent = words;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("claim-form");
    if (!form) return;
    // typing a coverage chooses "Enter the secondary coverage"; a payer id from the list brings its name
    form.querySelectorAll(".newcov input, .newcov select").forEach(function (input) {
      input.addEventListener("input", function () {
        var radio = document.getElementById("coverage-new");
        if (radio) radio.checked = true;
        if (input.name === "cov_payer_id") {
          var name = form.querySelector("input[name=cov_payer_name]");
          var options = document.querySelectorAll("#payer-ids option");
          for (var i = 0; i < options.length; i++) {
            if (options[i].value === input.value.trim().toUpperCase() && name && !name.value) {
              name.value = options[i].textContent.replace(/ \(paper only\)$/, "").toUpperCase();
            }
          }
        }
      });
    });
    form.addEventListener("input", function () { recompute(form); describe(form); });
    form.addEventListener("change", function () { recompute(form); describe(form); });
    recompute(form);
  });
})();

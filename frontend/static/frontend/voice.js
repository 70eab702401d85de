// Voice messages: record in the browser (MediaRecorder) with a visible timer, listen, cancel
// and re-record before sending. The recording fills the form's audio file input, so a browser
// that cannot record can still attach an audio file there.
(function () {
  "use strict";
  var MAX_SECONDS = 180;
  document.querySelectorAll("input[data-voice-input]").forEach(function (input) {
    var form = input.form;
    var duration = form.querySelector("input[data-voice-duration]");
    if (!navigator.mediaDevices || !window.MediaRecorder) return;  // fallback: file input
    var lang = document.documentElement.lang;
    var t = lang === "ar"
      ? { record: "تسجيل رسالة صوتية", stop: "إيقاف", again: "إعادة التسجيل", cancel: "إلغاء",
          recording: "جارٍ التسجيل", ready: "التسجيل جاهز للإرسال", denied: "تعذّر الوصول إلى الميكروفون" }
      : { record: "Record a voice message", stop: "Stop", again: "Record again", cancel: "Cancel",
          recording: "Recording", ready: "Recording ready to send", denied: "The microphone is not available" };
    var box = document.createElement("div");
    box.className = "voice";
    box.innerHTML = '<button type="button" class="voice__record"></button> ' +
      '<button type="button" class="voice__stop" hidden></button> ' +
      '<button type="button" class="voice__cancel" hidden></button> ' +
      '<span class="voice__timer" role="timer" aria-live="off">0:00</span> ' +
      '<span class="voice__status" role="status" aria-live="polite"></span>' +
      '<audio class="voice__preview" controls hidden></audio>';
    input.parentNode.insertBefore(box, input);
    var recordBtn = box.querySelector(".voice__record");
    var stopBtn = box.querySelector(".voice__stop");
    var cancelBtn = box.querySelector(".voice__cancel");
    var timer = box.querySelector(".voice__timer");
    var status = box.querySelector(".voice__status");
    var preview = box.querySelector(".voice__preview");
    recordBtn.textContent = t.record; stopBtn.textContent = t.stop; cancelBtn.textContent = t.cancel;
    var recorder = null, chunks = [], started = 0, tick = null, stream = null;

    function show(seconds) {
      timer.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    }
    function clearRecording() {
      input.value = "";
      if (duration) duration.value = "";
      preview.hidden = true; preview.removeAttribute("src");
      cancelBtn.hidden = true; status.textContent = ""; show(0);
      recordBtn.textContent = t.record;
    }
    recordBtn.addEventListener("click", function () {
      clearRecording();
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
        stream = s; chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          clearInterval(tick);
          stream.getTracks().forEach(function (track) { track.stop(); });
          var seconds = Math.round((Date.now() - started) / 1000);
          var type = recorder.mimeType || "audio/webm";
          var blob = new Blob(chunks, { type: type });
          var file = new File([blob], "voice-" + Date.now() + ".webm", { type: type });
          var transfer = new DataTransfer(); transfer.items.add(file);
          input.files = transfer.files;
          if (duration) duration.value = String(seconds);
          preview.src = URL.createObjectURL(blob); preview.hidden = false;
          stopBtn.hidden = true; recordBtn.hidden = false; cancelBtn.hidden = false;
          recordBtn.textContent = t.again; status.textContent = t.ready;
          box.dataset.state = "ready";
        };
        recorder.start(250);
        started = Date.now(); show(0);
        tick = setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          show(seconds);
          if (seconds >= MAX_SECONDS) recorder.stop();
        }, 250);
        recordBtn.hidden = true; stopBtn.hidden = false; status.textContent = t.recording;
        box.dataset.state = "recording";
      }).catch(function () { status.textContent = t.denied; });
    });
    stopBtn.addEventListener("click", function () { if (recorder && recorder.state !== "inactive") recorder.stop(); });
    cancelBtn.addEventListener("click", function () { clearRecording(); box.dataset.state = ""; });
  });
})();

// Recording in the browser for the simulator's phone call (console/simulator_call.py).
//
// The page works without this: a sound file is chosen and sent. Where the browser can record
// (MediaRecorder, a microphone), the "Record in the browser" button is shown; what is recorded
// becomes an 8 kHz mono WAV, as Twilio's recordings of calls are, and is put in the same file
// field, so the same form sends it and the server checks it as any file.
(function () {
  "use strict";
  var button = document.getElementById("record");
  var input = document.getElementById("recording");
  var status = document.getElementById("record-status");
  if (!button || !input || !status || !window.MediaRecorder || !window.OfflineAudioContext ||
      !window.DataTransfer || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var RATE = 8000;
  var recorder = null;

  function say(words) {
    status.textContent = words;
  }

  // The recording decoded (and resampled to RATE by the decoding context), its channels mixed.
  function decode(blob) {
    return blob.arrayBuffer().then(function (bytes) {
      return new OfflineAudioContext(1, 1, RATE).decodeAudioData(bytes);
    }).then(function (sound) {
      var mixed = new Float32Array(sound.length);
      for (var c = 0; c < sound.numberOfChannels; c++) {
        var samples = sound.getChannelData(c);
        for (var i = 0; i < samples.length; i++) {
          mixed[i] += samples[i] / sound.numberOfChannels;
        }
      }
      return mixed;
    });
  }

  // 16-bit PCM WAV: the RIFF header, then the samples.
  function wav(samples) {
    var view = new DataView(new ArrayBuffer(44 + samples.length * 2));
    function text(at, words) {
      for (var i = 0; i < words.length; i++) view.setUint8(at + i, words.charCodeAt(i));
    }
    text(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true);
    view.setUint16(20, 1, true);          // PCM
    view.setUint16(22, 1, true);          // mono
    view.setUint32(24, RATE, true);
    view.setUint32(28, RATE * 2, true);   // bytes a second
    view.setUint16(32, 2, true);          // bytes a frame
    view.setUint16(34, 16, true);         // bits a sample
    text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([view.buffer], { type: "audio/wav" });
  }

  function keep(blob) {
    var files = new DataTransfer();
    files.items.add(new File([blob], "recording.wav", { type: "audio/wav" }));
    input.files = files.files;
    button.textContent = button.dataset.record;
    say(button.dataset.recorded);
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var parts = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", function (event) {
        if (event.data.size) parts.push(event.data);
      });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        recorder = null;
        decode(new Blob(parts)).then(wav).then(keep, function () {
          button.textContent = button.dataset.record;
          say(button.dataset.noMicrophone);
        });
      });
      recorder.start();
      button.textContent = button.dataset.stop;
      say(button.dataset.recording);
    }, function () {
      say(button.dataset.noMicrophone);
    });
  }

  button.addEventListener("click", function () {
    if (recorder) {
      recorder.stop();
    } else {
      start();
    }
  });
  button.hidden = false;
})();

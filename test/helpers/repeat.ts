// .ci/run runs `npm test` once per supported Node.js line. A few suites spend nearly all their time outside Node.js —
// pip filling venvs, npm packing and installing, 4 GiB archives on disk, image build contexts — and prove nothing new
// on a second Node.js, so the repeat run sets OMAF_TEST_REPEAT=1 and they skip there. OMAF_TEST_SKIP_PYPI=1 (the older
// variable) still skips the PyPI suite alone.

/** A `skip` option: the reason on a repeat run, false otherwise. */
export const skipOnRepeat: string | false =
  process.env.OMAF_TEST_REPEAT === "1" ? "OMAF_TEST_REPEAT=1: this suite's work does not depend on the Node.js version, and the first run did it" : false;

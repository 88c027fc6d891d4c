import { main, parsePlanArgs } from '../../bin/plan';

describe('npm run plan', () => {
  test('parses every flag', () => {
    const { props, json } = parsePlanArgs([
      '--records-per-second',
      '5000',
      '--record-bytes',
      '600',
      '--peak-factor',
      '3',
      '--shared-consumers',
      '2',
      '--efo-consumers',
      '1',
      '--headroom',
      '0.3',
      '--predictable',
      '--json',
    ]);
    expect(props).toEqual({
      recordsPerSecond: 5000,
      averageRecordBytes: 600,
      peakFactor: 3,
      sharedThroughputConsumers: 2,
      enhancedFanOutConsumers: 1,
      targetHeadroom: 0.3,
      loadPredictable: true,
    });
    expect(json).toBe(true);
  });

  test('prints the plan as a table', () => {
    const lines: string[] = [];
    expect(main(['--records-per-second', '5000', '--record-bytes', '600'], (s) => lines.push(s))).toBe(0);
    expect(lines.join('\n')).toMatch(/capacity mode\s+ON_DEMAND/);
    expect(lines.join('\n')).toMatch(/write-records \*\s+10000\s+1000\s+13/);
  });

  test.each([
    [['--records-per-second', 'abc', '--record-bytes', '1'], /--records-per-second needs a number, got 'abc'/],
    [['--record-bytes', '1'], /are required/],
    [['--bogus', '1'], /unknown argument '--bogus'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parsePlanArgs(argv)).toThrow(message);
  });

  test('exits 2 on bad input', () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(main(['--records-per-second', '-1', '--record-bytes', '10'])).toBe(2);
    expect(err).toHaveBeenCalledWith(expect.stringMatching(/recordsPerSecond must be a positive number, got -1/));
    err.mockRestore();
  });
});

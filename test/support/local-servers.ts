// The servers live with `npm run local`, which starts the same ones; tests import them from here.
export * from '../../bin/local/servers';

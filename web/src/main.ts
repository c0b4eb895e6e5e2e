import './style.css';
import { App } from './app';
import { loadAtlas } from './data';

const root = document.getElementById('app')!;
const app = new App(root);
Object.defineProperty(window, '__photoatlas', { value: app.testApi(), writable: false, configurable: false });

loadAtlas('data/atlas.json').then(
  (atlas) => app.show(atlas),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    app.fail(msg);
    console.error(`photoatlas: ${msg}`);
  },
);

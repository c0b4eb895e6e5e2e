// Legend of one layout: one <button> per cluster (swatch, name, size). Clicking toggles the
// cluster's highlight; aria-pressed mirrors the state.
import { el } from './dom';
import type { LayoutData } from './types';

export class Legend {
  readonly element: HTMLElement;
  private readonly buttons: HTMLButtonElement[] = [];

  constructor(layout: LayoutData, colors: readonly string[], onToggle: (cluster: number) => void) {
    this.element = el('div', {
      class: 'legend',
      role: 'group',
      'aria-label': `Clusters of ${layout.name}`,
      'data-testid': 'legend',
      'data-layout': layout.id,
    });
    layout.clusters.forEach((c, i) => {
      const b = el('button', {
        type: 'button',
        class: 'legend-entry',
        'data-testid': 'legend-entry',
        'data-layout': layout.id,
        'data-cluster': i,
        'aria-pressed': 'false',
        title: `Highlight ${c.name}`,
      });
      const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      sw.style.backgroundColor = colors[i] ?? '#999';
      b.append(sw, el('span', { class: 'legend-name' }, c.name), el('span', { class: 'legend-size' }, String(c.size)));
      b.addEventListener('click', () => onToggle(i));
      this.buttons.push(b);
      this.element.append(b);
    });
  }

  setHighlighted(cluster: number | null): void {
    this.buttons.forEach((b, i) => {
      const on = i === cluster;
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.classList.toggle('is-active', on);
      b.classList.toggle('is-dimmed', cluster !== null && !on);
    });
  }
}

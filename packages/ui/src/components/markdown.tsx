/**
 * The one place the app renders markdown (model cards, version descriptions) — and the only use
 * of dangerouslySetInnerHTML. markdown-it runs with `html: false`, so raw HTML in the source
 * (`<script>`, `<img onerror=…>`) is escaped into inert text, and its default `validateLink`
 * refuses `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs. Links open in a new tab
 * without an opener or referrer. The library is imported on first use, so it is not part of the
 * first page's bundle. Headings are shifted down two levels, so a card's `# Title` never adds a
 * second <h1> to the page.
 */
import type { MarkdownIt, RendererRule } from 'markdown-it';
import { useEffect, useState } from 'react';

let loading: Promise<MarkdownIt> | undefined;

/** The configured renderer, loaded once. */
export function loadMarkdown(): Promise<MarkdownIt> {
  loading ??= import('markdown-it').then(({ default: MarkdownItClass }) => {
    const md = new MarkdownItClass({ html: false, linkify: true, typographer: false, breaks: false });
    const renderToken: RendererRule = (tokens, index, options, _env, self) =>
      self.renderToken(tokens, index, options);
    const linkOpen = md.renderer.rules.link_open ?? renderToken;
    md.renderer.rules.link_open = (tokens, index, options, env, self) => {
      const token = tokens[index];
      if (token) {
        token.attrSet('target', '_blank');
        token.attrSet('rel', 'noopener noreferrer nofollow');
      }
      return linkOpen(tokens, index, options, env, self);
    };
    const image = md.renderer.rules.image;
    md.renderer.rules.image = (tokens, index, options, env, self) => {
      const token = tokens[index];
      if (token) {
        token.attrSet('referrerpolicy', 'no-referrer');
        token.attrSet('loading', 'lazy');
      }
      return image ? image(tokens, index, options, env, self) : self.renderToken(tokens, index, options);
    };
    // The page has one <h1> (and cards use <h2>): headings of the source start at <h3>.
    const shift = (tag: string) => `h${Math.min(6, Number(tag.slice(1)) + 2)}`;
    for (const rule of ['heading_open', 'heading_close'] as const) {
      const original = md.renderer.rules[rule];
      md.renderer.rules[rule] = (tokens, index, options, env, self) => {
        const token = tokens[index];
        if (token && /^h[1-6]$/.test(token.tag)) token.tag = shift(token.tag);
        return original
          ? original(tokens, index, options, env, self)
          : self.renderToken(tokens, index, options);
      };
    }
    return md;
  });
  return loading;
}

/** Markdown rendered safely; until the renderer has loaded, the source shows as plain text. */
export function Markdown(props: { source: string; className?: string }) {
  const [html, setHtml] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setHtml(undefined);
    loadMarkdown().then((md) => {
      if (live) setHtml(md.render(props.source));
    });
    return () => {
      live = false;
    };
  }, [props.source]);
  if (html === undefined)
    return (
      <div className={`markdown pending ${props.className ?? ''}`} data-testid="markdown" aria-busy="true">
        {props.source}
      </div>
    );
  return (
    <div
      className={`markdown ${props.className ?? ''}`}
      data-testid="markdown"
      // biome-ignore lint/security/noDangerouslySetInnerHtml: markdown-it output with html disabled and links validated (see above).
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}

/** A markdown field with an Edit/Preview toggle (model cards, pasted or edited). */
export function MarkdownEditor(props: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  className?: string;
}) {
  const [preview, setPreview] = useState(false);
  return (
    <div className="field">
      <div className="field-head">
        <label htmlFor={props.id}>{props.label}</label>
        <button type="button" className="button small" onClick={() => setPreview((value) => !value)}>
          {preview ? 'Edit' : 'Preview'}
        </button>
      </div>
      {preview ? (
        <div className="preview">
          {props.value.trim() ? (
            <Markdown source={props.value} />
          ) : (
            <p className="faint">Nothing to preview.</p>
          )}
        </div>
      ) : (
        <textarea
          id={props.id}
          className={`input ${props.className ?? ''}`}
          value={props.value}
          onChange={(event) => props.onChange(event.target.value)}
          placeholder={props.placeholder}
        />
      )}
    </div>
  );
}

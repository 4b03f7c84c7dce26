/** Code to copy, with tabs when there are several ways (TF.js, ONNX, transformers.js, the CLI). */
import { useId, useState } from 'react';
import { CopyButton } from './ui';

export interface SnippetTab {
  label: string;
  language: string;
  code: string;
}

export function Snippet(props: { tabs: SnippetTab[] }) {
  const [current, setCurrent] = useState(0);
  const id = useId();
  const tab = props.tabs[current] ?? props.tabs[0];
  if (!tab) return null;
  return (
    <div className="snippet-box">
      {props.tabs.length > 1 && (
        <div className="snippet-tabs" role="tablist" aria-label="Ways to use it">
          {props.tabs.map((item, index) => (
            <button
              key={item.label}
              type="button"
              role="tab"
              id={`${id}-tab-${index}`}
              aria-selected={index === current}
              aria-controls={`${id}-panel`}
              onClick={() => setCurrent(index)}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
      <div className="snippet" role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${current}`}>
        <CopyButton text={tab.code} label={`Copy ${tab.label} snippet`} className="copy" />
        <code className="snippet-code" data-testid="snippet-code" data-language={tab.language}>
          {tab.code}
        </code>
      </div>
    </div>
  );
}

import { describe, expect, it } from 'vitest';
import { frontMatterTags, inlineTags, normalizeTag, noteTags, tagMatches } from '../src/notes/note-tags.ts';

describe('frontMatterTags', () => {
  it.each([
    { value: 'a, b  c', tags: ['a', 'b', 'c'] },
    { value: '#alpha #beta,gamma', tags: ['alpha', 'beta', 'gamma'] },
    { value: ['#x', ' Y ', 3, null, ['nested'], 'x'], tags: ['x', 'y'] },
    { value: ['project/asknotes', '/trailing/'], tags: ['project/asknotes', 'trailing'] },
    { value: ['has space'], tags: [] },
    { value: undefined, tags: [] },
    { value: { not: 'tags' }, tags: [] },
  ])('frontMatterTags($value)', ({ value, tags }) => {
    expect(frontMatterTags(value)).toEqual(tags);
  });
});

describe('inlineTags', () => {
  it.each([
    { name: 'words in prose', text: 'Met about #docker and #Compose today.\n', tags: ['docker', 'compose'] },
    { name: 'start of line and after brackets', text: '#first thing\n(#second) [#third]\n', tags: ['first', 'second', 'third'] },
    { name: 'nested tags whole', text: 'see #project/asknotes and #a/b/c\n', tags: ['project/asknotes', 'a/b/c'] },
    { name: 'unicode letters', text: 'notes #café #日本語\n', tags: ['café', '日本語'] },
    { name: 'numbers only are not tags', text: 'issue #123 and #2024\n', tags: [] },
    { name: 'a number with a letter is', text: 'tag #2024-review\n', tags: ['2024-review'] },
    { name: 'not inside a word', text: 'C# and F#sharp, a#b\n', tags: [] },
    { name: 'not in inline code', text: 'run `git log #nope` and ``#nope2``, then #yes\n', tags: ['yes'] },
    { name: 'not in URLs', text: 'https://example.org/page#anchor and http://x.io/#/route\n', tags: [] },
    { name: 'not in link targets', text: '[jump](#section) <#auto> [#label](x.md)\n', tags: ['label'] },
    { name: 'not in headings', text: '# Title #notatag\n## Part #nope ##\n\nbody #real\n', tags: ['real'] },
    { name: 'not in setext headings', text: 'Heading #nope\n===\n\ntext\n', tags: [] },
    { name: 'not in fenced code', text: '```sh\n# comment #nope\necho #nope\n```\nafter #after\n', tags: ['after'] },
    { name: 'not in tilde fences in list items', text: '- ~~~\n  #nope\n  ~~~\n- item #item\n', tags: ['item'] },
    { name: 'not in front matter', text: '---\ntitle: x #nope\n---\nbody #body\n', tags: ['body'] },
    { name: 'each once, case-insensitively', text: '#Docker #docker #DOCKER\n', tags: ['docker'] },
    { name: 'trailing punctuation dropped', text: 'end of sentence #done. and #also, #slash/\n', tags: ['done', 'also', 'slash'] },
  ])('$name', ({ text, tags }) => {
    expect(inlineTags(text)).toEqual(tags);
  });
});

describe('noteTags', () => {
  it('joins front matter and inline tags, front matter first, each once', () => {
    expect(noteTags(['Work', 'docker'], '---\ntags: x\n---\nabout #docker and #later\n')).toEqual(['work', 'docker', 'later']);
  });
});

describe('normalizeTag and tagMatches', () => {
  it.each([
    ['#Docker', 'docker'],
    ['  a/b ', 'a/b'],
    ['123', undefined],
    ['a b', undefined],
    ['', undefined],
    ['a//b', undefined],
  ])('normalizeTag(%j) = %j', (raw, tag) => {
    expect(normalizeTag(raw)).toBe(tag);
  });

  it.each([
    ['a', 'a', true],
    ['a/b', 'a', true],
    ['a/b/c', 'a/b', true],
    ['ab', 'a', false],
    ['a', 'a/b', false],
  ])('tagMatches(%j, %j) = %j', (noteTag, wanted, expected) => {
    expect(tagMatches(noteTag, wanted)).toBe(expected);
  });
});

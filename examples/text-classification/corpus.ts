/** A tiny labelled corpus: short sentences about sports, the weather and food. */
export const LABELS = ['sports', 'weather', 'food'] as const;
export type Label = (typeof LABELS)[number];

const SENTENCES: Record<Label, string[]> = {
  sports: [
    'The team scored a late goal to win the match.',
    'Our coach wants the players to pass the ball faster.',
    'The fans cheered when the team won the championship.',
    'The referee stopped the game after a foul.',
    'The striker scored twice in the second half of the match.',
    'The team lost the league game at home.',
    'Every player trained hard before the new season.',
    'The goalkeeper saved a penalty in the final minute of the game.',
    'The coach changed the team before the match.',
    'The fans filled the stadium for the championship game.',
    'She scored the winning goal for her team.',
    'The league season ends with a championship match.',
    'The players celebrated the win with their fans.',
    'A young player kicked the ball into the goal.',
    'The referee gave the team a penalty in the match.',
    'The coach praised the players after the game.',
    'The stadium was full for the final match of the season.',
    'Our team is top of the league this season.',
    'The players shook hands with the referee after the game.',
    'He scored a goal in every match this season.',
    'The team needs a win to stay in the league.',
    'The fans sang as the players walked onto the pitch.',
    'The match ended in a draw after a late goal.',
    'The coach signed a new player for the team.',
  ],
  weather: [
    'Heavy rain and strong wind are forecast for tomorrow.',
    'The sky is cloudy and the air is cold this morning.',
    'Snow fell on the hills during a cold night.',
    'The forecast says the weekend will be sunny and warm.',
    'A storm brought rain and wind to the coast.',
    'The temperature will drop below freezing tonight.',
    'Fog and frost covered the fields this morning.',
    'Warm sunny weather will last until the weekend.',
    'Showers and thunder are likely this afternoon.',
    'The wind turned cold and the rain began to fall.',
    'A sunny sky will follow the morning fog.',
    'The forecast warns of snow and icy roads tonight.',
    'The storm will bring heavy rain and flooding.',
    'Temperatures will rise and the sky will clear.',
    'Light rain and cloudy skies are expected today.',
    'The cold wind blew all night and brought snow.',
    'The weather will be warm and sunny tomorrow.',
    'Thick clouds and showers are forecast for the weekend.',
    'Frost formed overnight as the temperature fell.',
    'A strong storm with wind and hail hit the town.',
    'The rain stopped and the sun came out.',
    'The forecast for tonight is cold with clear skies.',
    'Humid air and thunder storms are expected this week.',
    'Snow and freezing fog made the morning cold.',
  ],
  food: [
    'The soup tastes better with fresh bread and butter.',
    'She baked a chocolate cake in the oven for dinner.',
    'The chef cooked pasta with a rich tomato sauce.',
    'Add salt and pepper to the sauce before serving.',
    'We ate fresh bread with cheese for lunch.',
    'The recipe says to bake the bread for an hour.',
    'The chef serves delicious grilled fish with lemon.',
    'Cook the rice and add the vegetables to the pan.',
    'The cheese sauce was rich and delicious.',
    'He cooked soup with onions, garlic and carrots.',
    'The cake came out of the oven warm and sweet.',
    'Dinner was roast chicken with potatoes and gravy.',
    'This recipe uses fresh tomatoes, basil and cheese.',
    'Slice the bread and toast it with butter.',
    'The kitchen smelled of garlic and fresh herbs.',
    'The chef tasted the sauce and added more salt.',
    'We cooked a spicy curry with rice for dinner.',
    'Bake the pie until the crust is golden.',
    'The pasta was served with cheese and fresh basil.',
    'Stir the soup and cook it for ten minutes.',
    'Breakfast was eggs, toast and butter.',
    'The recipe needs sugar, flour and eggs for the cake.',
    'The fish was grilled with lemon and herbs for dinner.',
    'Fresh fruit and cream make a delicious dessert.',
  ],
};

/** Every sentence with its label index, in a fixed interleaved order. */
export function corpus(): { text: string; label: number }[] {
  const rows: { text: string; label: number }[] = [];
  const longest = Math.max(...LABELS.map((label) => SENTENCES[label].length));
  for (let index = 0; index < longest; index++)
    LABELS.forEach((label, labelIndex) => {
      const text = SENTENCES[label][index];
      if (text !== undefined) rows.push({ text, label: labelIndex });
    });
  return rows;
}

/** Sentences the model has not seen (with the topic a reader would give), some with words it does not know. */
export const REQUESTS: { text: string; expected: Label }[] = [
  { text: 'The players scored three goals in the cup final.', expected: 'sports' },
  { text: 'Strong winds and heavy showers are forecast tonight.', expected: 'weather' },
  { text: 'Grill the fish and serve it with a lemon sauce.', expected: 'food' },
  { text: 'The quarterback threw a touchdown pass in the stadium.', expected: 'sports' },
  { text: 'Expect drizzle and chilly gusts, then sunshine.', expected: 'weather' },
  { text: 'Whisk the eggs and sugar, then bake the cake.', expected: 'food' },
];
